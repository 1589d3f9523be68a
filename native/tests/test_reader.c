/*
 * Exercise libcvsr's reader on the inputs named on the command line, under
 * AddressSanitizer (tests/native/test_asan.py makes the inputs and runs it).
 *
 * Usage: cvsr_test_asan EXPECT:PATH...
 *   EXPECT is "ok" (opens, every frame decodes, codec info present on all),
 *   "ok-noinfo" (opens and decodes, no codec info), "any" (may fail at open or
 *   while reading, must not crash), or an errno name the open must fail with:
 *   "ENOENT", "EINVAL", "ENOSYS", "INVALIDDATA", "STREAM_NOT_FOUND",
 *   "DECODER_NOT_FOUND".
 * Prints one line per case and exits 1 if any expectation failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvsr/cvsr.h"

static int expected_error(const char *name, int *code)
{
    static const struct { const char *name; int (*get)(void); int errnum; } table[] = {
        { "ENOENT", NULL, ENOENT },
        { "EINVAL", NULL, EINVAL },
        { "ENOSYS", NULL, ENOSYS },
        { "INVALIDDATA", cvsr_averror_invaliddata, 0 },
        { "STREAM_NOT_FOUND", cvsr_averror_stream_not_found, 0 },
        { "DECODER_NOT_FOUND", cvsr_averror_decoder_not_found, 0 },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!strcmp(name, table[i].name)) {
            *code = table[i].get ? table[i].get() : -table[i].errnum;
            return 1;
        }
    }
    return 0;
}

/* Touch every byte handed out, so ASan sees any out-of-bounds description. */
static unsigned touch(const CvsrFrame *f)
{
    unsigned sum = 0;
    for (int p = 0; p < f->nb_planes; p++)
        for (int y = 0; y < f->plane_height[p]; y++)
            for (int x = 0; x < f->plane_width[p]; x++)
                sum += f->data[p][(size_t)y * f->linesize[p] + x];
    for (size_t i = 0; i < f->codec_info_size; i++)
        sum += f->codec_info[i];
    for (size_t i = 0; i < f->motion_vectors_size; i++)
        sum += f->motion_vectors[i];
    return sum;
}

static int run_case(const char *expect, const char *path, int threads, int rgb)
{
    CvsrOptions opts;
    CvsrReader *r = NULL;
    CvsrStreamInfo info;
    CvsrFrame *f = NULL, *kept = NULL;
    int ret, want_err = 0, nb = 0, with_info = 0;
    int want_ok = !strcmp(expect, "ok") || !strcmp(expect, "ok-noinfo");
    int any = !strcmp(expect, "any");
    unsigned sum = 0;

    if (!want_ok && !any && !expected_error(expect, &want_err)) {
        fprintf(stderr, "unknown expectation %s\n", expect);
        return 0;
    }
    cvsr_options_default(&opts);
    opts.threads = threads;
    if (rgb) {
        opts.pix_fmt = CVSR_PIX_RGB24;
        opts.export_mvs = 1;
    } else if (threads == 4) {
        opts.pix_fmt = CVSR_PIX_NATIVE;
    }
    ret = cvsr_open(&r, path, &opts);
    if (ret < 0) {
        int ok = any || (!want_ok && ret == want_err);
        printf("%s %s open -> %d (%s)\n", ok ? "PASS" : "FAIL", path, ret, cvsr_last_error());
        if (r || !cvsr_last_error()[0])
            ok = 0;
        return ok;
    }
    if (!want_ok && !any) {
        printf("FAIL %s: opened, expected %s\n", path, expect);
        cvsr_close(&r);
        return 0;
    }
    cvsr_stream_info(r, &info);
    while ((ret = cvsr_read_frame(r, &f)) > 0) {
        sum += touch(f);
        with_info += f->codec_info != NULL;
        nb++;
        if (nb == 2) {
            kept = f; /* must outlive later frames and the reader */
            f = NULL;
        }
        cvsr_frame_free(&f);
    }
    cvsr_close(&r);
    if (kept) {
        sum += touch(kept);
        cvsr_frame_free(&kept);
    }
    cvsr_frame_free(&kept); /* double free must be a no-op */
    cvsr_close(&r);

    if (any) {
        printf("PASS %s: %d frames, read -> %d (%s)\n", path, nb, ret, cvsr_last_error());
        return 1;
    }
    if (ret < 0 || nb == 0 || (!strcmp(expect, "ok") && with_info != nb) ||
        (!strcmp(expect, "ok-noinfo") && with_info)) {
        printf("FAIL %s: %d frames, %d with codec info, read -> %d (%s)\n", path, nb, with_info, ret,
               cvsr_last_error());
        return 0;
    }
    printf("PASS %s: %s %dx%d, %d frames (threads %d, %s, checksum %u)\n", path, info.codec_name,
           info.width, info.height, nb, threads, rgb ? "rgb24 + upstream MVs" : threads == 4 ? "native" : "yuv420p", sum);
    return 1;
}

static int api_misuse(void)
{
    CvsrOptions opts;
    CvsrReader *r = NULL;
    CvsrFrame *f = NULL;
    int ok = 1;

    cvsr_options_default(&opts);
    opts.pix_fmt = 7;
    ok &= cvsr_open(&r, "whatever.mp4", &opts) == -EINVAL && !r;
    ok &= cvsr_open(NULL, "whatever.mp4", NULL) == -EINVAL;
    ok &= cvsr_open(&r, NULL, NULL) == -EINVAL;
    ok &= cvsr_read_frame(NULL, &f) == -EINVAL && !f;
    ok &= cvsr_layout("AVCodecInfo") && cvsr_layout("AVCodecInfo")->nb_fields > 0;
    ok &= cvsr_layout("nope") == NULL && cvsr_layout(NULL) == NULL;
    cvsr_close(NULL);
    cvsr_frame_free(NULL);
    printf("%s api misuse\n", ok ? "PASS" : "FAIL");
    return ok;
}

int main(int argc, char **argv)
{
    int ok = api_misuse();

    cvsr_set_log_level(-8);
    for (int i = 1; i < argc; i++) {
        char *sep = strchr(argv[i], ':');
        if (!sep) {
            fprintf(stderr, "bad argument %s (want EXPECT:PATH)\n", argv[i]);
            return 2;
        }
        *sep = 0;
        ok &= run_case(argv[i], sep + 1, 1, 0);
        if (!strcmp(argv[i], "ok") || !strcmp(argv[i], "any")) {
            ok &= run_case(argv[i], sep + 1, 4, 0);
            ok &= run_case(argv[i], sep + 1, 2, 1);
        }
    }
    return ok ? 0 : 1;
}
