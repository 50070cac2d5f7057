#include "picard-error.h"

G_DEFINE_QUARK (picard-error-quark, picard_error)
