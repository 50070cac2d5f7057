/* picard-png-folder.h: a folder of 8- or 16-bit grayscale PNG slices as a volume. */
#pragma once

#include "picard-volume.h"

G_BEGIN_DECLS

PicardVolume *picard_png_folder_open (const char *path, GError **error);

G_END_DECLS
