/*
 * Error reporting of libcvsr: a per-thread message of the last failure, with
 * the last error FFmpeg logged on that thread, and AVERROR constants.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "internal.h"

static _Thread_local char last_error[1024];
/* Decoder threads log too: the error line is process-wide (diagnostics only). */
static char last_log[400];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level <= AV_LOG_ERROR) {
        char line[sizeof(last_log)];
        va_list copy;
        int print_prefix = 1;
        va_copy(copy, vl);
        av_log_format_line2(avcl, level, fmt, copy, line, sizeof(line), &print_prefix);
        va_end(copy);
        line[strcspn(line, "\n")] = 0;
        /* Keep the first error since the API call began: later lines tend to
         * be consequences ("no frame!") rather than the cause. */
        pthread_mutex_lock(&log_lock);
        if (!last_log[0])
            memcpy(last_log, line, sizeof(line));
        pthread_mutex_unlock(&log_lock);
    }
    av_log_default_callback(avcl, level, fmt, vl);
}

void cvsr_install_log_callback(void)
{
    av_log_set_callback(log_callback);
}

void cvsr_clear_error(void)
{
    last_error[0] = 0;
    pthread_mutex_lock(&log_lock);
    last_log[0] = 0;
    pthread_mutex_unlock(&log_lock);
}

int cvsr_set_error(int err, const char *fmt, ...)
{
    char what[400], reason[AV_ERROR_MAX_STRING_SIZE], log[sizeof(last_log)];
    va_list vl;

    va_start(vl, fmt);
    vsnprintf(what, sizeof(what), fmt, vl);
    va_end(vl);
    av_strerror(err, reason, sizeof(reason));
    pthread_mutex_lock(&log_lock);
    memcpy(log, last_log, sizeof(log));
    pthread_mutex_unlock(&log_lock);
    if (log[0])
        snprintf(last_error, sizeof(last_error), "%s: %s (ffmpeg: %s)", what, reason, log);
    else
        snprintf(last_error, sizeof(last_error), "%s: %s", what, reason);
    return err;
}

const char *cvsr_last_error(void)
{
    return last_error;
}

int cvsr_strerror(int err, char *buf, size_t size)
{
    return av_strerror(err, buf, size);
}

void cvsr_set_log_level(int level)
{
    cvsr_install_log_callback();
    av_log_set_level(level);
}

int cvsr_averror_eof(void)               { return AVERROR_EOF; }
int cvsr_averror_invaliddata(void)       { return AVERROR_INVALIDDATA; }
int cvsr_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
int cvsr_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
int cvsr_averror_stream_not_found(void)  { return AVERROR_STREAM_NOT_FOUND; }
int cvsr_averror_protocol_not_found(void){ return AVERROR_PROTOCOL_NOT_FOUND; }
int cvsr_averror_patchwelcome(void)      { return AVERROR_PATCHWELCOME; }
