/*
 * libcvsr: decode a video with the project's patched FFmpeg and hand out each
 * frame's planes together with its codec-info side data (AVCodecInfo, see
 * libavutil/codec_info.h of the patched FFmpeg).
 *
 * Plain C ABI.  Every function that can fail returns >= 0 on success or a
 * negative AVERROR code (AVERROR(ENOENT), AVERROR_INVALIDDATA, ...); the
 * message of the last failure on the calling thread, with FFmpeg's own log
 * line when there was one, is returned by cvsr_last_error().
 *
 * FFmpeg is linked statically into libcvsr.so with its symbols hidden, so the
 * library can be loaded in a process that has another FFmpeg (the ffmpeg
 * binary, PyAV).  No FFmpeg type appears in this header.
 */
#ifndef CVSR_CVSR_H
#define CVSR_CVSR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CVSR_BUILDING) && defined(__GNUC__)
#define CVSR_API __attribute__((visibility("default")))
#else
#define CVSR_API
#endif

/* cffi-cdef-begin: native/bindings/build_cffi.py declares what follows to cffi */
#define CVSR_VERSION 1

/** Output pixel formats of cvsr_read_frame(). */
enum CvsrPixFmt {
    CVSR_PIX_YUV420P = 0, ///< 3 planes, 8 bit, chroma subsampled 2x2 (decoder output, zero-copy when it is already yuv420p)
    CVSR_PIX_RGB24   = 1, ///< 1 packed plane R, G, B (converted with swscale, BT.601 limited range unless tagged)
    CVSR_PIX_NATIVE  = 2, ///< the decoder's 8-bit planar YUV as is, zero-copy (4:2:0, 4:2:2, 4:4:4, 4:4:0); other formats converted to yuv420p
};

/** Decoder threading, as AVCodecContext.thread_type. */
enum CvsrThreadType {
    CVSR_THREAD_AUTO  = 0, ///< frame and slice threading, whatever the decoder supports
    CVSR_THREAD_FRAME = 1, ///< frame threading only
    CVSR_THREAD_SLICE = 2, ///< slice threading only
};

typedef struct CvsrOptions {
    int threads;          ///< decoder threads; 0 = one per CPU core, 1 = no threading
    int thread_type;      ///< enum CvsrThreadType
    int export_codec_info;///< nonzero: ask the decoder for AV_FRAME_DATA_CODEC_INFO
    int export_mvs;       ///< nonzero: also upstream's AV_FRAME_DATA_MOTION_VECTORS (flags2 +export_mvs)
    int pix_fmt;          ///< enum CvsrPixFmt
    int strict;           ///< nonzero: the first decoding error (a rejected packet, a frame with concealed errors) fails cvsr_read_frame()
    /**
     * Extra decoder options, "key=value:key=value" (av_dict_parse_string
     * syntax), applied before the fields above; NULL for none.
     */
    const char *decoder_options;
} CvsrOptions;

typedef struct CvsrStreamInfo {
    int width, height;             ///< display size (after cropping)
    int coded_width, coded_height; ///< size of the decoded picture before cropping, 0 if unknown before the first frame
    int time_base_num, time_base_den; ///< time base of pts and dts
    int fps_num, fps_den;          ///< average frame rate, 0/1 if unknown
    int64_t nb_frames;             ///< frames in the stream according to the container, 0 if unknown
    int64_t duration;              ///< in time_base units, INT64_MIN if unknown
    int64_t start_time;            ///< in time_base units, INT64_MIN if unknown
    int has_b_frames;              ///< decoder reorder depth (frames of output delay), may grow while decoding
    int bit_depth;                 ///< bits per sample of the source, 0 if unknown
    int profile, level;            ///< codec profile and level, negative if unknown
    int stream_index;              ///< index of the decoded stream in the container
    char codec_name[32];           ///< e.g. "h264", "hevc"
    char pix_fmt[32];              ///< pixel format of the source, e.g. "yuv420p"
    char out_pix_fmt[32];          ///< pixel format handed out: "yuv420p", "rgb24", or with CVSR_PIX_NATIVE e.g. "yuv422p"
} CvsrStreamInfo;

/**
 * One decoded frame.  It owns references to the decoder's buffers: the plane
 * pointers and the side data stay valid until cvsr_frame_free(), also after
 * later frames were read and after cvsr_close().
 */
typedef struct CvsrFrame {
    int width, height;         ///< display size
    int nb_planes;             ///< 3 for YUV, 1 for rgb24
    const uint8_t *data[4];    ///< plane pointers (top-left displayed sample)
    int linesize[4];           ///< bytes between rows of each plane
    int plane_width[4];        ///< samples (rgb24: pixels * 3 bytes) per row of each plane
    int plane_height[4];       ///< rows of each plane
    int64_t pts;               ///< presentation timestamp (best effort), INT64_MIN if unknown (raw .h264 streams have none)
    int64_t pkt_dts;           ///< dts of the packet that started this frame, INT64_MIN if unknown
    int64_t duration;          ///< in time base units, 0 if unknown
    int64_t packet_index;      ///< 0-based index, in demuxing order, of the packet that started this frame (decode order for any codec)
    int64_t output_index;      ///< 0-based index of this frame in output (display) order
    int pict_type;             ///< 'I', 'P', 'B', 'S', ... or '?' (from the decoder's AVFrame)
    int key_frame;             ///< nonzero for a key frame
    int corrupt;               ///< nonzero if the decoder flagged the frame as corrupt (concealed errors)
    const uint8_t *codec_info; ///< AVCodecInfo side data, NULL if the decoder did not export it
    size_t codec_info_size;    ///< its size in bytes
    const uint8_t *motion_vectors; ///< upstream AVMotionVector array, NULL if absent
    size_t motion_vectors_size;    ///< its size in bytes
    void *priv;                ///< owned by libcvsr
} CvsrFrame;

/** Element types of a layout field, numpy-compatible names. */
typedef struct CvsrField {
    const char *name;      ///< field name in the C struct
    const char *type;      ///< element type: "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64"
    size_t offset;         ///< offsetof() in the struct
    size_t elem_size;      ///< sizeof one element
    int ndim;              ///< 0 for a scalar, 1 or 2 for an array
    int shape[2];          ///< array dimensions (unused ones are 1)
} CvsrField;

typedef struct CvsrLayout {
    const char *name;         ///< C struct name, e.g. "AVCodecInfo"
    size_t size;              ///< sizeof(struct)
    int nb_fields;
    const CvsrField *fields;  ///< in declaration order
    int version;              ///< the struct's version constant, 0 if it has none
} CvsrLayout;

/** Fill opts with the defaults: auto threads, yuv420p, codec info exported. */
CVSR_API void cvsr_options_default(CvsrOptions *opts);

typedef struct CvsrReader CvsrReader;

/**
 * Open url (a path or any URL the build's protocols support), find its best
 * video stream and open its decoder.  opts may be NULL for the defaults.
 * On failure *out is NULL and a negative AVERROR is returned, e.g.
 * AVERROR(ENOENT) for a missing file, AVERROR_INVALIDDATA for a file that is
 * not a media file, AVERROR_STREAM_NOT_FOUND without a video stream,
 * AVERROR_DECODER_NOT_FOUND for a codec this build cannot decode,
 * AVERROR(ENOSYS) for a source the export does not support (> 8-bit H.264
 * with export_codec_info), AVERROR(EINVAL) for bad options.
 */
CVSR_API int cvsr_open(CvsrReader **out, const char *url, const CvsrOptions *opts);

/** Free the reader and set *r to NULL; frames already read stay valid. */
CVSR_API void cvsr_close(CvsrReader **r);

CVSR_API int cvsr_stream_info(const CvsrReader *r, CvsrStreamInfo *info);

/**
 * Decode the next frame in output (display) order.
 * Returns 1 and sets *out to a new frame (free it with cvsr_frame_free()),
 * 0 at the end of the stream (*out NULL), or a negative AVERROR.
 * Packets the decoder rejects are skipped (and counted, see
 * cvsr_decode_errors()) unless opts.strict was set.
 */
CVSR_API int cvsr_read_frame(CvsrReader *r, CvsrFrame **out);

CVSR_API void cvsr_frame_free(CvsrFrame **frame);

/** Number of packets the decoder rejected so far. */
CVSR_API int64_t cvsr_decode_errors(const CvsrReader *r);

/**
 * Message of the last failure of a cvsr_ call on the calling thread
 * (never NULL, "" if none).
 */
CVSR_API const char *cvsr_last_error(void);

/** Write the description of an AVERROR code to buf (av_strerror). */
CVSR_API int cvsr_strerror(int err, char *buf, size_t size);

/** AVERROR code constants, so that bindings need not reimplement the macros. */
CVSR_API int cvsr_averror_eof(void);
CVSR_API int cvsr_averror_invaliddata(void);
CVSR_API int cvsr_averror_decoder_not_found(void);
CVSR_API int cvsr_averror_demuxer_not_found(void);
CVSR_API int cvsr_averror_stream_not_found(void);
CVSR_API int cvsr_averror_protocol_not_found(void);
CVSR_API int cvsr_averror_patchwelcome(void);

/**
 * Set FFmpeg's log level inside libcvsr (AV_LOG_* values: -8 quiet, 16 error,
 * 24 warning, 32 info); messages go to stderr.  Default: 16 (errors).
 */
CVSR_API void cvsr_set_log_level(int level);

/**
 * Describe a struct of the side data: "AVCodecInfo" (libavutil/codec_info.h)
 * or "AVMotionVector" (libavutil/motion_vector.h).  Returns NULL for an
 * unknown name.  Offsets and sizes come from the headers libcvsr was built
 * with, so bindings never hardcode the layout.
 */
CVSR_API const CvsrLayout *cvsr_layout(const char *name);

/** Enum and flag constants of codec_info.h, by name ("AV_CODEC_INFO_BLOCK_SKIP"); 0 and *found = 0 if unknown. */
CVSR_API int64_t cvsr_constant(const char *name, int *found);
/*
 * CPU kernels of the inference path (native/src/kernels.c; pyfilter/cvsr/ops/_cpu.py calls them, each
 * is tested against a torch reference).  float32 planes, one image, planar (C, H, W), rows contiguous;
 * rows split over `threads` threads (<= 1: the calling thread alone).  Return 0, or -1 for a bad size,
 * -2 when out of memory.
 */

/** Bilinear backward warp, positions clamped to the frame: dst[c, y, x] = src[c, y + flow[y, x, 1], x + flow[y, x, 0]]
 *  (flow (height, width, 2) in pixels; cvsr.ops.warp with padding "border"). */
CVSR_API int cvsr_warp_bilinear(const float *src, int channels, int height, int width, const float *flow,
                                float *dst, int threads);

/** The fed-back detail of a recurrent step: space_to_depth(warp(hr, scale * flow repeated over each
 *  scale x scale block) - upsample(lr), scale), lr (channels, height, width), hr and the upsampling
 *  scale times larger (bilinear, half-pixel centres), detail (channels * scale^2, height, width);
 *  flow (height, width, 2) LR pixels, or NULL for none. */
CVSR_API int cvsr_feedback_detail(const float *hr, const float *lr, int channels, int height, int width,
                                  int scale, const float *flow, float *detail, int threads);

/** hr = depth_to_space(res, scale) + upsample(lr): the output of a step (res (channels * scale^2, height, width)).
 *  With y non-NULL (3 channels), also hr as 8-bit 4:2:0 as cvsr_rgb_to_yuv420() gives it (yuv_matrix,
 *  yuv_offset), converted while its rows are in the cache. */
CVSR_API int cvsr_upsample_add(const float *res, const float *lr, int channels, int height, int width,
                               int scale, float *hr, const float *yuv_matrix, const float *yuv_offset,
                               uint8_t *y, uint8_t *u, uint8_t *v, int threads);

/** RGB in [0, 1] (clamped) -> 8-bit Y (height, width), U, V (ceil(height / 2), ceil(width / 2)):
 *  Y = matrix[0:3] . rgb + offset[0], chroma from the 2x2 mean RGB (matrix rows 1, 2), rounded half up. */
CVSR_API int cvsr_rgb_to_yuv420(const float *rgb, int height, int width, const float *matrix,
                                const float *offset, uint8_t *y, uint8_t *u, uint8_t *v, int threads);

/** 8-bit 4:2:0 -> RGB (3, height, width) clamped to [0, 1]: rgb = matrix . (ycc - offset), chroma
 *  upsampled x2 bilinearly (sample centres at 2 i + 1/2, edge samples repeated). */
CVSR_API int cvsr_yuv420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int height, int width,
                                const float *matrix, const float *offset, float *rgb);
/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* CVSR_CVSR_H */
