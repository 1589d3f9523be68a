/*
 * cvsr bridge: a plain C ABI over the embedded Python filter host
 * (cvsr.host.Host).  Used by libavfilter/vf_cvsr.c; it holds no Python types
 * and links without FFmpeg.
 *
 * Every function that can fail returns >= 0 on success or a negative AVERROR
 * code: AVERROR(EINVAL) for a ValueError raised by the host (bad option, bad
 * input), AVERROR(ENOMEM) for MemoryError or CUDA out-of-memory,
 * AVERROR(ENOSYS) for NotImplementedError, AVERROR(EAGAIN) when no output is
 * ready, AVERROR_EOF when the host is drained, and AVERROR_EXTERNAL for any
 * other Python exception.  The exception type, message and traceback go to the
 * log callback before the call returns.
 *
 * Threads: the interpreter is initialised once per process, on the first
 * cvsr_bridge_open() from any thread, and never finalised (numpy cannot be
 * re-initialised).  The GIL is released between calls, so handles may live on
 * different threads; one handle must not be used by two threads at once.
 *
 * Interpreter: when the executable lives in a Python virtual environment
 * (<venv>/bin/ffmpeg next to <venv>/pyvenv.cfg), the embedded interpreter uses
 * that environment's packages; otherwise the environment the bridge was built
 * for (CVSR_DEFAULT_VENV at build time), otherwise the system Python.
 */
#ifndef CVSR_BRIDGE_H
#define CVSR_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CVSR_BRIDGE_VERSION 2

/** Log levels handed to the log callback; the values are FFmpeg's AV_LOG_*. */
enum CvsrBridgeLogLevel {
    CVSR_BRIDGE_LOG_ERROR   = 16,
    CVSR_BRIDGE_LOG_WARNING = 24,
    CVSR_BRIDGE_LOG_INFO    = 32,
    CVSR_BRIDGE_LOG_VERBOSE = 40,
    CVSR_BRIDGE_LOG_DEBUG   = 48,
};

/** Receives one complete message (ends with a newline). */
typedef void (*CvsrBridgeLogFn)(void *opaque, int level, const char *msg);

/** Options of one host, as the filter's AVOptions give them.  A NULL string
 *  means the host's default (cvsr.host.Host). */
typedef struct CvsrBridgeOptions {
    const char *model;      ///< registered model name or path to a checkpoint
    const char *device;     ///< "auto", "cpu" or "cuda"
    const char *sparse;     ///< "auto", "on" or "off"
    const char *precision;  ///< "auto", "fp32", "fp16" or "bf16"
    int threads;            ///< CPU threads of torch and the backend, 0 = their default
    int align;              ///< 1: align with the codec info when frames carry it; 0: never
    const char *backend;    ///< "auto", "torch" or "openvino"
} CvsrBridgeOptions;

/**
 * One yuv420p 8-bit frame.  Input planes are read only during the call that
 * receives them (the host copies what it keeps); output planes are written.
 */
typedef struct CvsrBridgeFrame {
    int width, height;            ///< luma size in samples
    uint8_t *data[3];             ///< Y, U, V planes
    int linesize[3];              ///< bytes per row, >= the plane's width
    int64_t pts;                  ///< presentation timestamp, carried through
    const uint8_t *codec_info;    ///< AV_FRAME_DATA_CODEC_INFO bytes, or NULL
    size_t codec_info_size;       ///< size of codec_info in bytes
} CvsrBridgeFrame;

typedef struct CvsrBridge CvsrBridge;

/** CVSR_BRIDGE_VERSION of the library linked in. */
int cvsr_bridge_version(void);

/**
 * Start the interpreter if needed and create a host: resolves and loads the
 * model on the device (a ValueError for an unknown model gives AVERROR(EINVAL)).
 * @param scale set to the model's upscaling factor
 */
int cvsr_bridge_open(CvsrBridge **bridge, const CvsrBridgeOptions *opts,
                     CvsrBridgeLogFn log, void *log_opaque, int *scale);

/**
 * Hand one input frame to the host, in display order.  The host may answer
 * with zero or more frames ready for cvsr_bridge_receive_frame().
 */
int cvsr_bridge_send_frame(CvsrBridge *bridge, const CvsrBridgeFrame *in);

/** Signal the end of the input: the host processes what it buffered. */
int cvsr_bridge_flush(CvsrBridge *bridge);

/**
 * Take the next output frame, in display order: writes the planes of out
 * (allocated by the caller with out->width/height = scale * input size) and
 * sets out->pts.  AVERROR(EAGAIN): feed more input; AVERROR_EOF: drained
 * after cvsr_bridge_flush().
 */
int cvsr_bridge_receive_frame(CvsrBridge *bridge, CvsrBridgeFrame *out);

/** Free the host (the interpreter stays up); *bridge is set to NULL. */
void cvsr_bridge_close(CvsrBridge **bridge);

#ifdef __cplusplus
}
#endif

#endif /* CVSR_BRIDGE_H */
