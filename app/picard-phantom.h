/* picard-phantom.h: synthetic DBT volumes (breast, power-law tissue, lesions with boxes),
 * deterministic by seed, for training and testing without real BCS-DBT data. */
#pragma once

#include "picard-volume.h"

G_BEGIN_DECLS

#define PICARD_PHANTOM_BITS_STORED 10u
#define PICARD_PHANTOM_MAX_VALUE 1023u
/* Every generated UID lies under this root (UUID-derived OIDs, ITU-T X.667). */
#define PICARD_PHANTOM_UID_ROOT "2.25"

typedef enum {
  PICARD_PHANTOM_LESION_MASS,
  PICARD_PHANTOM_LESION_CALCIFICATIONS,
} PicardPhantomLesionKind;

typedef enum {
  PICARD_PHANTOM_CLASS_BENIGN,
  PICARD_PHANTOM_CLASS_CANCER,
} PicardPhantomClass;

typedef struct {
  guint64 seed;
  guint rows;                 /* 0: 2457, the BCS-DBT size */
  guint columns;              /* 0: 1996 */
  guint frames;               /* 0: 60 */
  PicardLaterality laterality; /* UNKNOWN: drawn from the seed */
  const char *view;           /* "CC", "MLO" or NULL: drawn from the seed */
  gboolean stored_rotated;    /* file pixels rotated 180 degrees from dataset orientation */
  gboolean wrong_header_laterality; /* the header names the other breast */
  guint n_masses;
  guint n_calcification_clusters;
  /* Optional: called from the calling thread after each frame, fraction in (0, 1]. */
  void (*progress) (double fraction, gpointer user_data);
  gpointer progress_data;
} PicardPhantomParams;

typedef struct {
  PicardPhantomLesionKind kind;
  PicardPhantomClass klass;
  /* The box covering the lesion on its central slice, dataset orientation, pixels. */
  guint x, y, width, height;
  guint slice;         /* central frame, 0-based */
  guint volume_slices; /* the volume's frame count */
} PicardPhantomLesion;

typedef struct {
  guint rows, columns, frames;
  guint16 *voxels;     /* frames x rows x columns, FILE orientation */
  PicardLaterality laterality;        /* the truth */
  PicardLaterality header_laterality; /* what the header says */
  char *view;          /* "CC" or "MLO" */
  gboolean stored_rotated;
  guint bits_stored;
  double window_center;
  double window_width;
  char *patient_id;
  char *study_instance_uid;
  char *series_instance_uid;
  char *sop_instance_uid;
  PicardPhantomLesion *lesions;
  guint n_lesions;
} PicardPhantom;

void picard_phantom_params_init (PicardPhantomParams *params);

PicardPhantom *picard_phantom_generate (const PicardPhantomParams *params, GError **error);
void picard_phantom_free (PicardPhantom *phantom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardPhantom, picard_phantom_free)

/* The BCS-DBT view code: "lcc", "lmlo", "rcc" or "rmlo" (true laterality). */
const char *picard_phantom_view_code (const PicardPhantom *phantom);
const char *picard_phantom_class_name (PicardPhantomClass klass);

/* The volume in dataset orientation (undoing stored_rotated); a new array. */
guint16 *picard_phantom_dataset_voxels (const PicardPhantom *phantom);

/* A unit-variance Gaussian field with power spectrum ~ 1/f^beta on a rows x columns grid,
 * exposed so tests can check the texture model on its own. Returns rows*columns doubles. */
double *picard_phantom_power_law_field (guint64 seed, guint rows, guint columns,
                                        double beta);

G_END_DECLS
