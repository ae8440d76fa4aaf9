#ifndef GUANHUAI_CSYSTEMD_SHIM_H
#define GUANHUAI_CSYSTEMD_SHIM_H

// libsystemd's notify, watchdog and journal APIs. sd_journal_send and sd_notifyf are C variadics that Swift cannot
// call: Swift uses sd_journal_sendv and sd_notify.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <time.h>
#include <malloc.h>

// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
static inline unsigned long long guanhuai_monotonic_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

// glibc keeps freed memory; a long-running daemon hands it back after planning (malloc.h is not in Swift's Glibc).
static inline int guanhuai_malloc_trim(void) {
    return malloc_trim(0);
}

#endif
