/*
 * fetch-int: what the files of src/fetch share.
 * Included by: the .c files of src/fetch only.
 */
#ifndef OPUS_FETCH_INT_H
#define OPUS_FETCH_INT_H

#include "fetch/fetch.h"

/* Is the absolute path (without "..") equal to or below one of the roots? */
bool fetch_below_root(const struct fetch_policy *p, const char *path);

#endif
