/* picard-error.h: the project's error domain, shared by every layer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PICARD_ERROR (picard_error_quark ())

typedef enum {
  PICARD_ERROR_INVALID_ARGUMENT, /* the caller asked for something impossible */
  PICARD_ERROR_IO,               /* a file could not be read or written */
  PICARD_ERROR_NOT_SUPPORTED,    /* well-formed input of a kind we do not handle */
  PICARD_ERROR_CORRUPT,          /* malformed or truncated input */
  PICARD_ERROR_TOO_LARGE,        /* input beyond the size caps */
  PICARD_ERROR_NOT_FOUND,        /* a required element, file or key is missing */
  PICARD_ERROR_DEVICE,           /* a compute device failed */
  PICARD_ERROR_OUT_OF_MEMORY,    /* the device ran out of memory: retry smaller */
  PICARD_ERROR_DEVICE_LOST,      /* the device is gone: recreate it */
} PicardError;

GQuark picard_error_quark (void);

G_END_DECLS
