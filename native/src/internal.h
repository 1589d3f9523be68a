#ifndef CVSR_INTERNAL_H
#define CVSR_INTERNAL_H

#include "cvsr/cvsr.h"

/** Route FFmpeg's log through libcvsr (keeps the last error line per thread). */
void cvsr_install_log_callback(void);
/** Forget the last error of the calling thread (start of each API call). */
void cvsr_clear_error(void);
/** Record "what: av_strerror(err) (ffmpeg: last log line)" and return err. */
int cvsr_set_error(int err, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* CVSR_INTERNAL_H */
