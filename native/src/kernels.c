/*
 * CPU kernels of the inference path: the per-frame work around a model's
 * convolutions (pyfilter/cvsr/ops/_cpu.py calls them; each has a torch
 * reference in pyfilter/cvsr/ops it is tested against).
 *
 * Why hand-written: these are memory-bound passes over 1280x720 frames that
 * torch runs as several separate kernels (a dense HR flow built by
 * repeat_interleave, grid_sample, interpolate, subtract, pixel_unshuffle), and
 * OpenVINO measured no faster on them (pyfilter/cvsr/ops/frame.py).  One pass
 * here reads each input once.
 *
 * All planes are float32, planar (NCHW, one image), rows contiguous.
 * Rows are split over `threads` threads (pthreads, started per call: ~20 us against milliseconds of
 * work); the model's backend is idle meanwhile, as these run between its calls.
 */

#include <math.h>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* x86-64: each kernel is also compiled for AVX2 + FMA and picked at load time (measured 2x on
 * rgb_to_yuv420 against the SSE2 baseline); elsewhere the one generic build. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define CVSR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef CVSR_CLONES
#define CVSR_CLONES
#endif

/* Rows [0, rows) of a kernel split into `threads` contiguous chunks, one per thread (the caller runs the
 * first). fn returns 0 or a negative error; the first error is returned. A thread that cannot be
 * started runs its chunk on the caller. */
typedef int (*RowsFn)(void *ctx, int start, int end);

typedef struct Chunk {
    RowsFn fn;
    void *ctx;
    int start, end, ret;
} Chunk;

static void *run_chunk(void *arg)
{
    Chunk *c = arg;
    c->ret = c->fn(c->ctx, c->start, c->end);
    return NULL;
}

#define MAX_THREADS 64

static int parallel_rows(RowsFn fn, void *ctx, int rows, int threads)
{
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > rows / 8)  /* small frames: not worth a thread */
        threads = rows / 8;
    if (threads <= 1)
        return fn(ctx, 0, rows);
    Chunk chunks[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < threads; t++)
        chunks[t] = (Chunk){fn, ctx, (int)((int64_t)rows * t / threads), (int)((int64_t)rows * (t + 1) / threads), 0};
    for (int t = 1; t < threads; t++)
        started[t] = !pthread_create(&tid[t], NULL, run_chunk, &chunks[t]);
    run_chunk(&chunks[0]);
    int ret = chunks[0].ret;
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            run_chunk(&chunks[t]);
        if (!ret)
            ret = chunks[t].ret;
    }
    return ret;
}

static inline float clampf(float v, float lo, float hi)
{
    /* a NaN fails the first comparison and becomes lo: a bad flow cannot index out of the frame
     * (comparisons, where fmaxf/fminf would be library calls the loops cannot vectorise) */
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

/* One bilinear sample position, clamped to the frame (padding "border"). */
typedef struct Tap {
    int32_t i00, dx, dy;  ///< top-left offset; +dx / +dy reach the right / lower taps (0 at the edge)
    float wx, wy;         ///< weights of the right and lower taps
} Tap;

static inline Tap make_tap(float px, float py, int w, int h)
{
    Tap t;
    px = clampf(px, 0.0f, (float)(w - 1));
    py = clampf(py, 0.0f, (float)(h - 1));
    int x0 = (int)px, y0 = (int)py;
    t.wx = px - (float)x0;
    t.wy = py - (float)y0;
    t.dx = x0 < w - 1;
    t.dy = y0 < h - 1 ? w : 0;
    t.i00 = y0 * w + x0;
    return t;
}

static inline float sample(const float *p, Tap t)
{
    const float *q = p + t.i00;
    float top = q[0] + t.wx * (q[t.dx] - q[0]);
    float bot = q[t.dy] + t.wx * (q[t.dy + t.dx] - q[t.dy]);
    return top + t.wy * (bot - top);
}

typedef struct WarpCtx {
    const float *src, *flow;
    float *dst;
    int channels, height, width;
} WarpCtx;

CVSR_CLONES static int warp_rows(void *arg, int start, int end)
{
    const WarpCtx *k = arg;
    const int width = k->width, height = k->height;
    const size_t plane = (size_t)height * width;
    Tap *taps = malloc(sizeof(*taps) * (size_t)width);
    uint8_t *run = malloc((size_t)width);  /* 1: pixels x..x+3 move alike (one codec block), inside the frame */
    if (!taps || !run) {
        free(taps);
        free(run);
        return -2;
    }
    for (int y = start; y < end; y++) {
        const float *f = k->flow + (size_t)y * width * 2;
        for (int x = 0; x < width; x++)
            taps[x] = make_tap((float)x + f[2 * x], (float)y + f[2 * x + 1], width, height);
        for (int x = 0; x + 4 <= width; x += 4) {
            const Tap t = taps[x];
            int same = t.dx == 1;
            for (int j = 1; j < 4; j++)
                same &= taps[x + j].i00 == t.i00 + j && taps[x + j].wx == t.wx && taps[x + j].wy == t.wy &&
                        taps[x + j].dx == 1 && taps[x + j].dy == t.dy;
            run[x] = same;
        }
        for (int c = 0; c < k->channels; c++) {
            const float *s = k->src + c * plane;
            float *d = k->dst + c * plane + (size_t)y * width;
            int x = 0;
#ifdef __SSE2__
            /* four pixels of one block: their taps are consecutive, so four outputs take vector loads */
            for (; x + 4 <= width; x += 4) {
                if (!run[x]) {
                    for (int j = x; j < x + 4; j++)
                        d[j] = sample(s, taps[j]);
                    continue;
                }
                const Tap t = taps[x];
                const float *q = s + t.i00;
                const __m128 wx = _mm_set1_ps(t.wx), wy = _mm_set1_ps(t.wy);
                __m128 a = _mm_loadu_ps(q), b = _mm_loadu_ps(q + 1);
                const __m128 top = _mm_add_ps(a, _mm_mul_ps(wx, _mm_sub_ps(b, a)));
                a = _mm_loadu_ps(q + t.dy);
                b = _mm_loadu_ps(q + t.dy + 1);
                const __m128 bot = _mm_add_ps(a, _mm_mul_ps(wx, _mm_sub_ps(b, a)));
                _mm_storeu_ps(d + x, _mm_add_ps(top, _mm_mul_ps(wy, _mm_sub_ps(bot, top))));
            }
#endif
            for (; x < width; x++)
                d[x] = sample(s, taps[x]);
        }
    }
    free(taps);
    free(run);
    return 0;
}

int cvsr_warp_bilinear(const float *src, int channels, int height, int width, const float *flow, float *dst,
                       int threads)
{
    if (channels < 1 || height < 1 || width < 1)
        return -1;
    WarpCtx k = {src, flow, dst, channels, height, width};
    return parallel_rows(warp_rows, &k, height, threads);
}

/*
 * Bilinear x scale upsampling with half-pixel centres (torch's align_corners=False): output
 * sample o reads source position (o + 0.5) / scale - 0.5, negative positions clamped to 0.
 * Separable: each LR row is upsampled horizontally once (RowCache keeps the last two it made),
 * an HR row is then a vectorisable blend of two of them.
 */
typedef struct Axis {
    int32_t *i0, *i1;
    float *l1;
} Axis;

static int axis_init(Axis *a, int size, int scale)
{
    int n = size * scale;
    a->i0 = malloc(sizeof(int32_t) * n);
    a->i1 = malloc(sizeof(int32_t) * n);
    a->l1 = malloc(sizeof(float) * n);
    if (!a->i0 || !a->i1 || !a->l1)
        return -2;
    float inv = 1.0f / (float)scale;
    for (int o = 0; o < n; o++) {
        float src = clampf(inv * ((float)o + 0.5f) - 0.5f, 0.0f, (float)(size - 1));
        int i = (int)src;
        a->i0[o] = i;
        a->i1[o] = i < size - 1 ? i + 1 : i;
        a->l1[o] = src - (float)i;
    }
    return 0;
}

static void axis_free(Axis *a)
{
    free(a->i0);
    free(a->i1);
    free(a->l1);
}

typedef struct RowCache {
    float *buf[2];
    const float *src[2];  ///< the LR row each buffer holds upsampled, NULL = none
    int next;             ///< buffer to replace next
} RowCache;

static int cache_init(RowCache *rc, int W)
{
    rc->buf[0] = malloc(sizeof(float) * W);
    rc->buf[1] = malloc(sizeof(float) * W);
    rc->src[0] = rc->src[1] = NULL;
    rc->next = 0;
    return rc->buf[0] && rc->buf[1] ? 0 : -2;
}

static void cache_free(RowCache *rc)
{
    free(rc->buf[0]);
    free(rc->buf[1]);
}

/* LR row `row` of `plane` (width w) upsampled horizontally to W samples. */
static inline const float *hrow(RowCache *rc, const float *plane, int w, const Axis *ax, int W, int row)
{
    const float *restrict r = plane + (size_t)row * w;
    for (int k = 0; k < 2; k++)
        if (rc->src[k] == r)
            return rc->buf[k];
    float *restrict out = rc->buf[rc->next];
    rc->src[rc->next] = r;
    rc->next ^= 1;
    int X = 0;
    if (W == 4 * w && w >= 3) {
        /* x4 inside the row: sample 4 x + j reads x - 3/8, x - 1/8, x + 1/8, x + 3/8, the weights the
         * tables hold there (exact in float), without their gathers; the tables do the two edge pixels */
        for (; X < 4; X++)
            out[X] = r[ax->i0[X]] + ax->l1[X] * (r[ax->i1[X]] - r[ax->i0[X]]);
        for (int x = 1; x < w - 1; x++) {
            const float a = r[x - 1], b = r[x], c = r[x + 1];
            out[4 * x]     = a + 0.625f * (b - a);
            out[4 * x + 1] = a + 0.875f * (b - a);
            out[4 * x + 2] = b + 0.125f * (c - b);
            out[4 * x + 3] = b + 0.375f * (c - b);
        }
        X = 4 * (w - 1);
    }
    for (; X < W; X++)
        out[X] = r[ax->i0[X]] + ax->l1[X] * (r[ax->i1[X]] - r[ax->i0[X]]);
    return out;
}

/* HR row Y of the upsampled plane into out[0, W). */
static void upsample_row(RowCache *rc, const float *plane, int w, const Axis *ax, const Axis *ay, int W, int Y,
                         float *restrict out)
{
    const float *a = hrow(rc, plane, w, ax, W, ay->i0[Y]);
    const float *b = hrow(rc, plane, w, ax, W, ay->i1[Y]);
    const float l = ay->l1[Y];
    for (int X = 0; X < W; X++)
        out[X] = a[X] + l * (b[X] - a[X]);
}

typedef struct Upsampler {
    Axis ax, ay;
    RowCache rc[3];  ///< one per plane (planes past the third share the last one: correct, recomputed)
    int nb_rc;
} Upsampler;

static void upsampler_free(Upsampler *u)
{
    axis_free(&u->ax);
    axis_free(&u->ay);
    for (int k = 0; k < u->nb_rc; k++)
        cache_free(&u->rc[k]);
}

static int upsampler_init(Upsampler *u, int height, int width, int scale)
{
    memset(u, 0, sizeof(*u));
    int ret = axis_init(&u->ax, width, scale) | axis_init(&u->ay, height, scale);
    for (u->nb_rc = 0; !ret && u->nb_rc < 3; u->nb_rc++)
        ret = cache_init(&u->rc[u->nb_rc], width * scale);
    if (ret) {
        upsampler_free(u);
        return -2;
    }
    return 0;
}

/* The detail of LR pixel x on one HR row, space-to-depth: HR (Y, x s + j) -> plane j of d (channel
 * (c s + i) s + j) at LR (y, x). copy >= 0: the s samples are src[copy + j]; else taps[j]. */
static inline void detail_px(float *d, const float *src, const float *in, int32_t copy, const Tap *taps, int s,
                             size_t lr_plane)
{
    if (copy >= 0) {
        const float *q = src + copy;
        for (int j = 0; j < s; j++)
            d[j * lr_plane] = q[j] - in[j];
    } else {
        for (int j = 0; j < s; j++)
            d[j * lr_plane] = sample(src, taps[j]) - in[j];
    }
}

/* One HR row of the detail: every LR pixel of the row, d at LR (y, 0) of the row's first plane. */
static inline void detail_row(float *d, const float *src, const float *up, const int32_t *copy, const Tap *taps,
                              int width, int s, size_t lr_plane)
{
    int x = 0;
#ifdef __SSE2__
    /* x4, four LR pixels that all copy: their 4x4 samples minus the upsampled frame, transposed so that each
     * of the four planes gets one 4-wide store instead of four scalar ones (2x the whole kernel) */
    if (s == 4) {
        for (; x + 4 <= width; x += 4) {
            if ((copy[x] | copy[x + 1] | copy[x + 2] | copy[x + 3]) < 0) {
                for (int k = x; k < x + 4; k++)
                    detail_px(d + k, src, up + 4 * k, copy[k], taps + 4 * k, 4, lr_plane);
                continue;
            }
            __m128 r0 = _mm_sub_ps(_mm_loadu_ps(src + copy[x]),     _mm_loadu_ps(up + 4 * x));
            __m128 r1 = _mm_sub_ps(_mm_loadu_ps(src + copy[x + 1]), _mm_loadu_ps(up + 4 * x + 4));
            __m128 r2 = _mm_sub_ps(_mm_loadu_ps(src + copy[x + 2]), _mm_loadu_ps(up + 4 * x + 8));
            __m128 r3 = _mm_sub_ps(_mm_loadu_ps(src + copy[x + 3]), _mm_loadu_ps(up + 4 * x + 12));
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(d + x, r0);
            _mm_storeu_ps(d + lr_plane + x, r1);
            _mm_storeu_ps(d + 2 * lr_plane + x, r2);
            _mm_storeu_ps(d + 3 * lr_plane + x, r3);
        }
    }
#endif
    for (; x < width; x++)
        detail_px(d + x, src, up + x * s, copy[x], taps + x * s, s, lr_plane);
}

typedef struct DetailCtx {
    const float *hr, *lr, *flow;
    float *detail;
    int channels, height, width, scale;
} DetailCtx;

CVSR_CLONES static int detail_rows(void *arg, int start, int end)
{
    const DetailCtx *k = arg;
    const int s = k->scale, width = k->width, H = k->height * s, W = width * s;
    const size_t lr_plane = (size_t)k->height * width, hr_plane = (size_t)H * W;
    Upsampler u;
    if (upsampler_init(&u, k->height, width, s))
        return -2;
    float *up = malloc(sizeof(float) * W);
    Tap *taps = malloc(sizeof(Tap) * W);
    int32_t *copy = malloc(sizeof(int32_t) * width);
    int ret = up && taps && copy ? 0 : -2;
    for (int Y = start; !ret && Y < end; Y++) {
        const int y = Y / s, i = Y % s;
        const float *f = k->flow ? k->flow + (size_t)y * width * 2 : NULL;
        /* Each LR pixel's s HR samples on this row move by its vector times s. Whole-pixel vectors (all
         * quarter-pel ones at x4) that stay inside the frame copy s samples; others interpolate. */
        for (int x = 0; x < width; x++) {
            float fx = f ? s * f[2 * x] : 0.0f, fy = f ? s * f[2 * x + 1] : 0.0f;
            float px = (float)(x * s) + fx, py = (float)Y + fy;
            if (px == floorf(px) && py == floorf(py) && px >= 0.0f && px <= (float)(W - s) &&
                py >= 0.0f && py <= (float)(H - 1)) {
                copy[x] = (int32_t)py * W + (int32_t)px;
            } else {
                copy[x] = -1;
                for (int j = 0; j < s; j++)
                    taps[x * s + j] = make_tap(px + (float)j, py, W, H);
            }
        }
        for (int c = 0; c < k->channels; c++) {
            upsample_row(&u.rc[c < 3 ? c : 2], k->lr + c * lr_plane, width, &u.ax, &u.ay, W, Y, up);
            float *d = k->detail + ((size_t)(c * s + i) * s) * lr_plane + (size_t)y * width;
            if (s == 4)  /* the shipped models: the constant unrolls the inner loops */
                detail_row(d, k->hr + c * hr_plane, up, copy, taps, width, 4, lr_plane);
            else
                detail_row(d, k->hr + c * hr_plane, up, copy, taps, width, s, lr_plane);
        }
    }
    upsampler_free(&u);
    free(up);
    free(taps);
    free(copy);
    return ret;
}

int cvsr_feedback_detail(const float *hr, const float *lr, int channels, int height, int width, int scale,
                         const float *flow, float *detail, int threads)
{
    if (channels < 1 || height < 1 || width < 1 || scale < 1)
        return -1;
    DetailCtx k = {hr, lr, flow, detail, channels, height, width, scale};
    return parallel_rows(detail_rows, &k, height * scale, threads);
}

/* depth-to-space of one HR row: out[x s + j] += plane j of r at x */
static inline void add_row(float *restrict out, const float *r, int width, int s, size_t lr_plane)
{
    for (int x = 0; x < width; x++)
        for (int j = 0; j < s; j++)
            out[x * s + j] += r[j * lr_plane + x];
}

static inline uint8_t to_u8(float v)
{
    /* v already has + 0.5: truncation rounds half up; clamp first (NaN -> 0); through int, which
     * vectorises (a direct float -> uint8 conversion does not) */
    return (uint8_t)(int)clampf(v, 0.0f, 255.0f);
}

typedef struct ToYuvCtx {
    const float *rgb, *matrix, *offset;
    uint8_t *y, *u, *v;
    int height, width;
} ToYuvCtx;

/* Chroma row cy with its one or two luma rows (a missing second row repeats the first). buf: 6 (width
 * rounded up to even) floats: the two rows of each plane, clamped once, the edge sample repeated. */
static inline void yuv_row_pair(const ToYuvCtx *k, int cy, float *buf)
{
    const int height = k->height, width = k->width, cw = (width + 1) / 2, w2 = 2 * cw;
    const size_t plane = (size_t)height * width;
    const float *m = k->matrix;
    const float o0 = k->offset[0] + 0.5f, o1 = k->offset[1] + 0.5f, o2 = k->offset[2] + 0.5f;
    const int rows = 2 * cy + 1 < height ? 2 : 1;
    for (int c = 0; c < 3; c++)
        for (int r = 0; r < 2; r++) {
            const float *restrict in = k->rgb + c * plane + (size_t)(2 * cy + (r < rows ? r : 0)) * width;
            float *restrict out = buf + (2 * c + r) * w2;
            for (int x = 0; x < width; x++)
                out[x] = clampf(in[x], 0.0f, 1.0f);
            out[w2 - 1] = out[width - 1];
        }
    for (int r = 0; r < rows; r++) {
        const float *restrict R = buf + r * w2, *restrict G = buf + (2 + r) * w2, *restrict B = buf + (4 + r) * w2;
        uint8_t *restrict out = k->y + (size_t)(2 * cy + r) * width;
        for (int x = 0; x < width; x++)
            out[x] = to_u8(m[0] * R[x] + m[1] * G[x] + m[2] * B[x] + o0);
    }
    /* chroma of the 2x2 mean RGB */
    const float *restrict R0 = buf, *restrict R1 = buf + w2, *restrict G0 = buf + 2 * w2;
    const float *restrict G1 = buf + 3 * w2, *restrict B0 = buf + 4 * w2, *restrict B1 = buf + 5 * w2;
    uint8_t *restrict u = k->u + (size_t)cy * cw, *restrict v = k->v + (size_t)cy * cw;
    for (int cx = 0; cx < cw; cx++) {
        const float r = 0.25f * (R0[2 * cx] + R0[2 * cx + 1] + R1[2 * cx] + R1[2 * cx + 1]);
        const float g = 0.25f * (G0[2 * cx] + G0[2 * cx + 1] + G1[2 * cx] + G1[2 * cx + 1]);
        const float b = 0.25f * (B0[2 * cx] + B0[2 * cx + 1] + B1[2 * cx] + B1[2 * cx + 1]);
        u[cx] = to_u8(m[3] * r + m[4] * g + m[5] * b + o1);
        v[cx] = to_u8(m[6] * r + m[7] * g + m[8] * b + o2);
    }
}

/* rows: chroma rows */
CVSR_CLONES static int rgb_to_yuv420_rows(void *arg, int start, int end)
{
    const ToYuvCtx *k = arg;
    float *buf = malloc(sizeof(float) * 6 * (k->width + 1));
    if (!buf)
        return -2;
    for (int cy = start; cy < end; cy++)
        yuv_row_pair(k, cy, buf);
    free(buf);
    return 0;
}

typedef struct UpsampleAddCtx {
    const float *res, *lr;
    float *hr;
    int channels, height, width, scale;
    ToYuvCtx yuv;  ///< yuv.y == NULL: no YUV output
} UpsampleAddCtx;

/* One HR row Y of plane c: upsampled LR plus the depth-to-space of res. */
static inline void upsample_add_row(const UpsampleAddCtx *k, Upsampler *u, int c, int Y)
{
    const int s = k->scale, width = k->width, H = k->height * s, W = width * s, y = Y / s, i = Y % s;
    const size_t lr_plane = (size_t)k->height * width;
    float *out = k->hr + ((size_t)c * H + Y) * W;
    upsample_row(&u->rc[c < 3 ? c : 2], k->lr + c * lr_plane, width, &u->ax, &u->ay, W, Y, out);
    /* depth-to-space: channel (c s + i) s + j at LR (y, x) -> HR (Y, x s + j) */
    const float *r = k->res + ((size_t)(c * s + i) * s) * lr_plane + (size_t)y * width;
    if (s == 4)
        add_row(out, r, width, 4, lr_plane);
    else
        add_row(out, r, width, s, lr_plane);
}

/* rows: pairs of HR rows (the chroma rows of a YUV output), every plane; then, with a YUV output, the pair
 * converted while it is in the cache */
CVSR_CLONES static int upsample_add_rows(void *arg, int start, int end)
{
    const UpsampleAddCtx *k = arg;
    const int H = k->height * k->scale;
    Upsampler u;
    if (upsampler_init(&u, k->height, k->width, k->scale))
        return -2;
    float *buf = k->yuv.y ? malloc(sizeof(float) * 6 * (k->width * k->scale + 1)) : NULL;
    if (k->yuv.y && !buf) {
        upsampler_free(&u);
        return -2;
    }
    for (int cy = start; cy < end; cy++) {
        for (int c = 0; c < k->channels; c++)
            for (int Y = 2 * cy; Y < 2 * cy + 2 && Y < H; Y++)
                upsample_add_row(k, &u, c, Y);
        if (buf)
            yuv_row_pair(&k->yuv, cy, buf);
    }
    free(buf);
    upsampler_free(&u);
    return 0;
}

int cvsr_upsample_add(const float *res, const float *lr, int channels, int height, int width, int scale,
                      float *hr, const float *yuv_matrix, const float *yuv_offset, uint8_t *y, uint8_t *u,
                      uint8_t *v, int threads)
{
    if (channels < 1 || height < 1 || width < 1 || scale < 1 || (y && channels != 3))
        return -1;
    const int H = height * scale;
    UpsampleAddCtx k = {res, lr, hr, channels, height, width, scale,
                        {hr, yuv_matrix, yuv_offset, y, u, v, H, width * scale}};
    return parallel_rows(upsample_add_rows, &k, (H + 1) / 2, threads);
}

int cvsr_rgb_to_yuv420(const float *rgb, int height, int width, const float *matrix, const float *offset,
                       uint8_t *y, uint8_t *u, uint8_t *v, int threads)
{
    if (height < 1 || width < 1)
        return -1;
    ToYuvCtx k = {rgb, matrix, offset, y, u, v, height, width};
    return parallel_rows(rgb_to_yuv420_rows, &k, (height + 1) / 2, threads);
}

CVSR_CLONES int cvsr_yuv420_to_rgb(const uint8_t *y_in, const uint8_t *u_in, const uint8_t *v_in, int height, int width,
                       const float *matrix, const float *offset, float *rgb)
{
    if (height < 1 || width < 1)
        return -1;
    const size_t plane = (size_t)height * width;
    const int cw = (width + 1) / 2, ch = (height + 1) / 2;
    /* chroma x2 bilinear, sample centres at 2 i + 1/2: weights 3/4 (own sample) and 1/4 (neighbour) */
    float *cu = malloc(sizeof(float) * width), *cv = malloc(sizeof(float) * width);
    float *ru = malloc(sizeof(float) * cw), *rv = malloc(sizeof(float) * cw);
    if (!cu || !cv || !ru || !rv) {
        free(cu), free(cv), free(ru), free(rv);
        return -2;
    }
    for (int y = 0; y < height; y++) {
        const int c0 = y / 2, cn = y % 2 ? (c0 + 1 < ch ? c0 + 1 : c0) : (c0 > 0 ? c0 - 1 : 0);
        const uint8_t *u0 = u_in + (size_t)c0 * cw, *un = u_in + (size_t)cn * cw;
        const uint8_t *v0 = v_in + (size_t)c0 * cw, *vn = v_in + (size_t)cn * cw;
        for (int cx = 0; cx < cw; cx++) {
            ru[cx] = 0.75f * u0[cx] + 0.25f * un[cx];
            rv[cx] = 0.75f * v0[cx] + 0.25f * vn[cx];
        }
        for (int x = 0; x < width; x++) {
            const int k0 = x / 2, kn = x % 2 ? (k0 + 1 < cw ? k0 + 1 : k0) : (k0 > 0 ? k0 - 1 : 0);
            cu[x] = 0.75f * ru[k0] + 0.25f * ru[kn];
            cv[x] = 0.75f * rv[k0] + 0.25f * rv[kn];
        }
        const uint8_t *yr = y_in + (size_t)y * width;
        float *out = rgb + (size_t)y * width;
        for (int x = 0; x < width; x++) {
            const float Y = yr[x] - offset[0], U = cu[x] - offset[1], V = cv[x] - offset[2];
            for (int k = 0; k < 3; k++)
                out[k * plane + x] = clampf(matrix[3 * k] * Y + matrix[3 * k + 1] * U + matrix[3 * k + 2] * V,
                                            0.0f, 1.0f);
        }
    }
    free(cu), free(cv), free(ru), free(rv);
    return 0;
}
