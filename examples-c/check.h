/*
 * Check helpers shared by the C tests and samples (test_devices.c, test_video.c,
 * video_call.c, group_call.c): counted checks that print "ok"/"FAIL" lines, status
 * expectations with the library's last error message, and a millisecond sleep. Include
 * after <acscalling.h> with _POSIX_C_SOURCE 200809L defined.
 */
#ifndef ACS_EXAMPLES_CHECK_H
#define ACS_EXAMPLES_CHECK_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static int g_failures, g_checks;

static inline void report(bool ok, const char *fmt, ...) {
    va_list ap;
    g_checks++;
    if (!ok) {
        g_failures++;
    }
    printf("  %s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static inline bool expect_status(acs_status got, acs_status want, const char *what) {
    char msg[256] = "";
    if (got != want) {
        acs_last_error_message(msg, sizeof msg);
    }
    report(got == want, "%s -> %s%s%s", what, acs_status_to_string(got), got != want ? ": " : "", msg);
    return got == want;
}
#define EXPECT(expr, want) expect_status((expr), (want), #expr)
#define EXPECT_OK(expr) expect_status((expr), ACS_OK, #expr)

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
