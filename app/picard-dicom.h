/* picard-dicom.h: DICOM volumes (DCMTK for the dataset, OpenJPEG for JPEG 2000 frames). */
#pragma once

#include "picard-volume.h"

G_BEGIN_DECLS

#define PICARD_SOP_CLASS_BREAST_TOMOSYNTHESIS "1.2.840.10008.5.1.4.1.1.13.1.3"

/* Opens a DICOM image (single frame, multi-frame or enhanced multi-frame) reading the header
 * only; frames are read and decoded one at a time when the volume asks for them.
 * Values are delivered as unsigned stored values masked to BitsStored, in MONOCHROME2 sense:
 * - signed pixels (PixelRepresentation 1) are offset by 2^(BitsStored-1) (two's complement
 *   to offset binary: order preserved), and the window centre with them;
 * - MONOCHROME1 pixels are inverted (v -> 2^BitsStored - 1 - v), and the window centre
 *   with them; info->photometric still names what the file says.
 * Colour and palette images, BitsAllocated other than 8 or 16, and HighBit other than
 * BitsStored - 1 are refused with PICARD_ERROR_NOT_SUPPORTED. */
PicardVolume *picard_dicom_open (const char *path, GError **error);

/* Caps applied when opening: dimensions beyond them are refused (PICARD_ERROR_TOO_LARGE). */
typedef struct {
  guint max_rows;
  guint max_columns;
  guint max_frames;
  guint64 max_total_bytes; /* frames x rows x columns x 2, the decoded volume */
} PicardDicomLimits;

/* 16 GiB decoded: several times the largest DBT volume, still a sign of a damaged header. */
#define PICARD_DICOM_MAX_TOTAL_BYTES ((guint64) 16 << 30)

/* The defaults: PICARD_VOLUME_MAX_* and PICARD_DICOM_MAX_TOTAL_BYTES. */
void picard_dicom_limits_init (PicardDicomLimits *limits);
PicardVolume *picard_dicom_open_with_limits (const char *path, const PicardDicomLimits *limits,
                                             GError **error);
/* Opens a DICOM file held in memory (a copy is made; used by the fuzzer). */
PicardVolume *picard_dicom_open_memory (const guint8 *data, gsize size,
                                        const PicardDicomLimits *limits, GError **error);

typedef enum {
  PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE,
  PICARD_DICOM_SYNTAX_IMPLICIT_LITTLE,
  PICARD_DICOM_SYNTAX_DEFLATED,
  PICARD_DICOM_SYNTAX_RLE,
  PICARD_DICOM_SYNTAX_JPEG_LOSSLESS,     /* process 14, selection value 1 */
  PICARD_DICOM_SYNTAX_JPEG_LS,           /* lossless */
  PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS,
  PICARD_DICOM_SYNTAX_JPEG2000,          /* lossy */
} PicardDicomSyntax;

/* Names used on the command line: "explicit", "implicit", "deflated", "rle",
 * "jpeg-lossless", "jpeg-ls", "j2k-lossless", "j2k". */
gboolean picard_dicom_syntax_from_name (const char *name, PicardDicomSyntax *syntax,
                                        GError **error);
const char *picard_dicom_syntax_name (PicardDicomSyntax syntax);
/* The transfer syntax UID a syntax is written in. */
const char *picard_dicom_syntax_uid (PicardDicomSyntax syntax);
#define PICARD_DICOM_N_SYNTAXES (PICARD_DICOM_SYNTAX_JPEG2000 + 1)

typedef struct {
  const char *patient_id;
  const char *study_instance_uid;  /* NULL: a new UID */
  const char *series_instance_uid; /* NULL: a new UID */
  const char *sop_instance_uid;    /* NULL: a new UID */
  const char *view;                /* "CC" or "MLO" */
  PicardLaterality laterality;     /* written as ImageLaterality and FrameLaterality */
  guint bits_stored;
  double window_center;            /* written in SharedFunctionalGroups > FrameVOILUTSequence */
  double window_width;
  guint frames;
  guint rows;
  guint columns;
} PicardDicomWriteParams;

/* Writes a Breast Tomosynthesis Image Storage object (enhanced multi-frame, functional
 * groups) with frames*rows*columns stored values, each below 2^bits_stored. Written
 * atomically. The lossy JPEG 2000 syntax aims at a PSNR of 55 dB. */
gboolean picard_dicom_write (const char *path, const PicardDicomWriteParams *params,
                             const guint16 *frames, PicardDicomSyntax syntax, GError **error);

G_END_DECLS
