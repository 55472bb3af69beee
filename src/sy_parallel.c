/*
 * sy_parallel.c -- the thread count shared by kernels that split work across cores.
 */
#include "siyu.h"

#include <unistd.h>

/* ---- thread count ------------------------------------------------------ */
static int sy_num_threads = 0;   /* 0 = not yet set: use online cores */

int sy_get_num_threads(void)
{
    if (sy_num_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        sy_num_threads = (n >= 1 && n <= 256) ? (int)n : 1;
    }
    return sy_num_threads;
}

void sy_set_num_threads(int n)
{
    sy_num_threads = n < 1 ? 1 : (n > 256 ? 256 : n);
}
