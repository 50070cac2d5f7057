/* DICOM volumes: round trips in every syntax checked against pydicom/GDCM, files written by
 * other tools, lazy decoding, and damaged input. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "picard-dicom.h"
#include "picard-error.h"
#include "picard-j2k.h"
#include "picard-test-cli.h"

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Smooth-ish random values that use every bit of @bits. */
static guint16 *
make_values (guint frames, guint rows, guint columns, guint bits, guint32 seed)
{
  gsize count = (gsize) frames * rows * columns;
  guint16 *values = g_new (guint16, count);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < count; i++)
    values[i] = (guint16) g_rand_int_range (rand, 0, 1 << bits);
  values[0] = (guint16) ((1 << bits) - 1); /* the extremes are there */
  values[1] = 0;
  g_rand_free (rand);
  return values;
}

static PicardDicomWriteParams
make_params (guint frames, guint rows, guint columns)
{
  PicardDicomWriteParams params = { 0 };

  params.patient_id = "DBT-P00042";
  params.study_instance_uid = "1.2.826.0.1.3680043.8.498.1";
  params.series_instance_uid = "1.2.826.0.1.3680043.8.498.2";
  params.sop_instance_uid = "1.2.826.0.1.3680043.8.498.3";
  params.view = "MLO";
  params.laterality = PICARD_LATERALITY_RIGHT;
  params.bits_stored = 10;
  params.window_center = 511.5;
  params.window_width = 700;
  params.frames = frames;
  params.rows = rows;
  params.columns = columns;
  return params;
}

/* Runs tests/dicom-helper.py with @args (NULL-terminated). */
static void
run_helper (const char *const *args)
{
  g_autofree char *script = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "tests",
                                              "dicom-helper.py", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, script);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_free (picard_test_run_python (NULL, (const char *const *) argv->pdata));
}

/* The key=value lines the helper wrote for a decoded file. */
static GHashTable *
read_meta (const char *out)
{
  g_autofree char *path = g_strconcat (out, ".txt", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        g_hash_table_insert (values, g_strndup (lines[i], eq - lines[i]), g_strdup (eq + 1));
    }
  return values;
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static guint
helper_uint (GHashTable *values, const char *key)
{
  const char *text = g_hash_table_lookup (values, key);

  g_assert_nonnull (text);
  return (guint) g_ascii_strtoull (text, NULL, 10);
}

static guint16 *
read_raw (const char *path, gsize count)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize size = 0;

  g_file_get_contents (path, &data, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, count * 2);
  for (gsize i = 0; i < count; i++)
    ((guint16 *) data)[i] = GUINT16_FROM_LE (((guint16 *) data)[i]);
  return (guint16 *) data;
}

/* Every frame of @volume against @expected: the largest absolute difference. */
static guint
max_difference (PicardVolume *volume, const guint16 *expected, double *rmse)
{
  gsize frame = (gsize) picard_volume_get_rows (volume) * picard_volume_get_columns (volume);
  guint worst = 0;
  double sum = 0;

  for (guint f = 0; f < picard_volume_get_n_frames (volume); f++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = picard_volume_get_frame (volume, f, NULL, &error);
      const guint16 *values;
      gsize size;

      g_assert_no_error (error);
      values = g_bytes_get_data (bytes, &size);
      g_assert_cmpuint (size, ==, frame * 2);
      for (gsize i = 0; i < frame; i++)
        {
          int d = abs ((int) values[i] - (int) expected[f * frame + i]);

          worst = MAX (worst, (guint) d);
          sum += (double) d * d;
        }
    }
  if (rmse != NULL)
    *rmse = sqrt (sum / (frame * picard_volume_get_n_frames (volume)));
  return worst;
}

static gboolean
is_lossless (PicardDicomSyntax syntax)
{
  return syntax != PICARD_DICOM_SYNTAX_JPEG2000;
}

static void
test_syntax_names (void)
{
  g_autoptr(GError) error = NULL;
  PicardDicomSyntax syntax;

  for (guint i = 0; i < PICARD_DICOM_N_SYNTAXES; i++)
    {
      g_assert_true (picard_dicom_syntax_from_name (picard_dicom_syntax_name (i), &syntax,
                                                    NULL));
      g_assert_cmpint (syntax, ==, i);
      g_assert_true (g_str_has_prefix (picard_dicom_syntax_uid (i), "1.2.840.10008.1.2"));
    }
  g_assert_true (picard_dicom_syntax_from_name ("j2k-lossless", &syntax, NULL));
  g_assert_cmpstr (picard_dicom_syntax_uid (syntax), ==, "1.2.840.10008.1.2.4.90");
  g_assert_false (picard_dicom_syntax_from_name ("jpeg2000", &syntax, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "j2k-lossless"));
}

#define RT_FRAMES 3
#define RT_ROWS 67
#define RT_COLUMNS 53

static guint16 *round_values[PICARD_DICOM_N_SYNTAXES];

static char *
round_path (PicardDicomSyntax syntax, const char *suffix)
{
  g_autofree char *name = g_strdup_printf ("round-%s%s", picard_dicom_syntax_name (syntax),
                                           suffix);

  return tmp_path (name);
}

/* Writes a volume in every syntax and has the helper decode them all in one run. */
static void
ensure_round_trip_files (void)
{
  static gboolean done;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);

  if (done)
    return;
  done = TRUE;
  g_ptr_array_add (args, g_strdup ("decode"));
  for (guint s = 0; s < PICARD_DICOM_N_SYNTAXES; s++)
    {
      PicardDicomWriteParams params = make_params (RT_FRAMES, RT_ROWS, RT_COLUMNS);
      g_autoptr(GError) error = NULL;
      char *path = round_path (s, ".dcm");

      round_values[s] = make_values (RT_FRAMES, RT_ROWS, RT_COLUMNS, 10, 7 + s);
      g_assert_true (picard_dicom_write (path, &params, round_values[s], s, &error));
      g_assert_no_error (error);
      g_ptr_array_add (args, path);
      g_ptr_array_add (args, round_path (s, ".ref"));
    }
  g_ptr_array_add (args, NULL);
  run_helper ((const char *const *) args->pdata);
}

/* Written in every syntax, read back by us and by pydicom (or GDCM where pydicom has no
 * decoder for the syntax), with the metadata. Odd sizes on purpose. */
static void
test_round_trip (gconstpointer data)
{
  PicardDicomSyntax syntax = GPOINTER_TO_INT (data);
  const guint frames = RT_FRAMES, rows = RT_ROWS, columns = RT_COLUMNS;
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = round_path (syntax, ".dcm");
  g_autofree char *ref = round_path (syntax, ".ref");
  g_autofree char *ref_raw = g_strconcat (ref, ".raw", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autofree guint16 *reference = NULL;
  g_autoptr(GBytes) frame = NULL;
  const PicardVolumeInfo *info;
  const guint16 *values;
  double rmse = 0;
  guint worst;

  ensure_round_trip_files ();
  values = round_values[syntax];
  volume = picard_dicom_open (path, &error);
  g_assert_no_error (error);
  info = picard_volume_get_info (volume);
  g_assert_cmpstr (info->path, ==, path);
  g_assert_cmpstr (info->format, ==, "DICOM");
  g_assert_cmpstr (info->sop_class_uid, ==, PICARD_SOP_CLASS_BREAST_TOMOSYNTHESIS);
  g_assert_cmpstr (info->patient_id, ==, "DBT-P00042");
  g_assert_cmpstr (info->study_instance_uid, ==, params.study_instance_uid);
  g_assert_cmpstr (info->series_instance_uid, ==, params.series_instance_uid);
  g_assert_cmpstr (info->sop_instance_uid, ==, params.sop_instance_uid);
  g_assert_cmpstr (info->transfer_syntax_uid, ==, picard_dicom_syntax_uid (syntax));
  g_assert_nonnull (info->transfer_syntax_name);
  g_assert_cmpstr (info->photometric, ==, "MONOCHROME2");
  g_assert_cmpstr (info->view, ==, "MLO");
  g_assert_cmpint (info->header_laterality, ==, PICARD_LATERALITY_RIGHT);
  g_assert_cmpuint (info->bits_allocated, ==, 16);
  g_assert_cmpuint (info->bits_stored, ==, 10);
  g_assert_true (info->has_window);
  g_assert_cmpfloat (info->window_center, ==, 511.5);
  g_assert_cmpfloat (info->window_width, ==, 700);
  g_assert_cmpuint (info->frames, ==, frames);
  g_assert_cmpuint (info->rows, ==, rows);
  g_assert_cmpuint (info->columns, ==, columns);

  /* Lazy: opening decodes nothing, one frame costs one decode. */
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 0);
  frame = picard_volume_get_frame (volume, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 1);

  worst = max_difference (volume, values, &rmse);
  g_test_message ("%s: %" G_GOFFSET_FORMAT " bytes, max error %u, rmse %.3f",
                  picard_dicom_syntax_name (syntax), file_size (path), worst, rmse);
  if (is_lossless (syntax))
    g_assert_cmpuint (worst, ==, 0);
  else
    {
      /* 55 dB on 10 bits: an RMSE near 1.8 grey levels. */
      g_assert_cmpfloat (rmse, >, 0);
      g_assert_cmpfloat (rmse, <, 3);
      g_assert_cmpuint (worst, <, 40);
    }

  /* An independent reader sees the same file. */
  meta = read_meta (ref);
  g_assert_cmpuint (helper_uint (meta, "frames"), ==, frames);
  g_assert_cmpuint (helper_uint (meta, "rows"), ==, rows);
  g_assert_cmpuint (helper_uint (meta, "columns"), ==, columns);
  g_assert_cmpuint (helper_uint (meta, "bits_stored"), ==, 10);
  g_assert_cmpuint (helper_uint (meta, "per_frame_items"), ==, frames);
  g_assert_cmpstr (g_hash_table_lookup (meta, "transfer_syntax"), ==,
                   picard_dicom_syntax_uid (syntax));
  g_assert_cmpstr (g_hash_table_lookup (meta, "SOPClassUID"), ==,
                   PICARD_SOP_CLASS_BREAST_TOMOSYNTHESIS);
  g_assert_cmpstr (g_hash_table_lookup (meta, "window_center"), ==, "511.5");
  g_assert_cmpstr (g_hash_table_lookup (meta, "window_width"), ==, "700");
  g_assert_cmpstr (g_hash_table_lookup (meta, "frame_laterality"), ==, "R");
  g_assert_cmpstr (g_hash_table_lookup (meta, "ImageLaterality"), ==, "R");
  g_assert_cmpstr (g_hash_table_lookup (meta, "view_meaning"), ==, "medio-lateral oblique");
  g_test_message ("%s decoded by %s", picard_dicom_syntax_name (syntax),
                  (char *) g_hash_table_lookup (meta, "decoder"));
  reference = read_raw (ref_raw, (gsize) frames * rows * columns);
  /* Lossless: the reference decoder gives the originals; lossy: the same decoded values. */
  g_assert_cmpuint (max_difference (volume, is_lossless (syntax) ? values : reference, NULL),
                    ==, 0);
  if (is_lossless (syntax))
    g_assert_cmpmem (reference, frames * rows * columns * 2, values, frames * rows * columns * 2);
}

static const char *const foreign_files[] = {
  "pydicom:MR_small.dcm",
  "pydicom:MR_small_implicit.dcm",
  "pydicom:MR_small_bigendian.dcm",
  "pydicom:MR_small_expb.dcm",
  "pydicom:MR_small_padded.dcm",
  "pydicom:MR_small_RLE.dcm",
  "pydicom:MR_small_jp2klossless.dcm",
  "pydicom:MR_small_jpeg_ls_lossless.dcm",
  "pydicom:CT_small.dcm",
  "pydicom:JPEG2000.dcm",
  "pydicom:693_J2KI.dcm",
  "pydicom:J2K_pixelrep_mismatch.dcm",
  "pydicom:JPGExtended.dcm",
  "pydicom:image_dfl.dcm",
  "nibabel:0.dcm",
  "nibabel:decimal_rescale.dcm",
  "nibabel:slicethickness_empty_string.dcm",
  "nibabel:siemens_dwi_1000.dcm.gz",
  "nibabel:philips_mprage.dcm.gz",
};

static char *
foreign_ref (const char *spec)
{
  g_autofree char *name = g_strdup_printf ("foreign-%s", strchr (spec, ':') + 1);

  return tmp_path (name);
}

/* Copies and decodes every foreign file with the helper, in one run. */
static void
ensure_foreign_references (void)
{
  static gboolean done;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);

  if (done)
    return;
  done = TRUE;
  g_ptr_array_add (args, g_strdup ("decode"));
  for (guint i = 0; i < G_N_ELEMENTS (foreign_files); i++)
    {
      g_ptr_array_add (args, g_strdup (foreign_files[i]));
      g_ptr_array_add (args, foreign_ref (foreign_files[i]));
    }
  g_ptr_array_add (args, NULL);
  run_helper ((const char *const *) args->pdata);
}

/* Files written by other tools, compared value by value with pydicom's decoding. */
static void
test_foreign (gconstpointer data)
{
  const char *spec = data;
  g_autofree char *ref = foreign_ref (spec);
  g_autofree char *ref_raw = g_strconcat (ref, ".raw", NULL);
  g_autofree char *ref_dcm = g_strconcat (ref, ".dcm", NULL);
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autofree guint16 *reference = NULL;
  const PicardVolumeInfo *info;
  guint frames, rows, columns;

  ensure_foreign_references ();
  meta = read_meta (ref);
  frames = helper_uint (meta, "frames");
  rows = helper_uint (meta, "rows");
  columns = helper_uint (meta, "columns");
  volume = picard_dicom_open (ref_dcm, &error);
  g_assert_no_error (error);
  info = picard_volume_get_info (volume);
  g_assert_cmpuint (info->frames, ==, frames);
  g_assert_cmpuint (info->rows, ==, rows);
  g_assert_cmpuint (info->columns, ==, columns);
  g_assert_cmpuint (info->bits_stored, ==, helper_uint (meta, "bits_stored"));
  g_assert_cmpstr (info->transfer_syntax_uid, ==, g_hash_table_lookup (meta, "transfer_syntax"));
  g_assert_cmpstr (info->sop_class_uid, ==, g_hash_table_lookup (meta, "SOPClassUID"));
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 0);
  g_test_message ("%s: %u x %u x %u, %s, reference by %s", spec, frames, rows, columns,
                  info->transfer_syntax_name, (char *) g_hash_table_lookup (meta, "decoder"));

  reference = read_raw (ref_raw, (gsize) frames * rows * columns);
  g_assert_cmpuint (max_difference (volume, reference, NULL), ==, 0);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, frames);
}

/* nibabel's enhanced MR: the window lives in the per-frame functional groups only. */
static void
test_enhanced_window (void)
{
  g_autofree char *ref = foreign_ref ("nibabel:philips_mprage.dcm.gz");
  g_autofree char *ref_dcm = g_strconcat (ref, ".dcm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GBytes) frame = NULL;
  const PicardVolumeInfo *info;

  ensure_foreign_references ();
  volume = picard_dicom_open (ref_dcm, &error);
  g_assert_no_error (error);
  info = picard_volume_get_info (volume);
  g_assert_cmpstr (info->sop_class_uid, ==, "1.2.840.10008.5.1.4.1.1.4.1"); /* enhanced MR */
  g_assert_cmpuint (info->frames, ==, 176);
  g_assert_true (info->has_window);
  g_assert_cmpfloat (info->window_center, ==, 13);
  g_assert_cmpfloat (info->window_width, ==, 23);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 0);
  frame = picard_volume_get_frame (volume, 100, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 1);
}

/* Signed pixels are offset, MONOCHROME1 inverted, both with the window; the helper
 * changes only the header so the stored bits stay ours. */
static void
test_conversions (void)
{
  const guint frames = 2, rows = 9, columns = 11;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 99);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = tmp_path ("plain.dcm");
  g_autofree char *prefix = tmp_path ("conv");
  g_autofree char *mono1 = tmp_path ("conv-monochrome1.dcm");
  g_autofree char *signed_path = tmp_path ("conv-signed.dcm");
  const char *args[] = { "mutate", path, prefix, "monochrome1", "signed", NULL };
  g_autofree guint16 *expected = g_new (guint16, frames * rows * columns);
  g_autoptr(GError) error = NULL;

  g_assert_true (picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE,
                                     &error));
  g_assert_no_error (error);
  run_helper (args);

  {
    g_autoptr(PicardVolume) volume = picard_dicom_open (mono1, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (picard_volume_get_info (volume)->photometric, ==, "MONOCHROME1");
    g_assert_cmpfloat (picard_volume_get_info (volume)->window_center, ==, 1023 - 511.5);
    for (guint i = 0; i < frames * rows * columns; i++)
      expected[i] = 1023 - values[i];
    g_assert_cmpuint (max_difference (volume, expected, NULL), ==, 0);
  }
  {
    g_autoptr(PicardVolume) volume = picard_dicom_open (signed_path, &error);

    g_assert_no_error (error);
    g_assert_cmpfloat (picard_volume_get_info (volume)->window_center, ==, 511.5 + 512);
    for (guint i = 0; i < frames * rows * columns; i++)
      expected[i] = values[i] ^ 512; /* -512..511 as stored, 0..1023 after the offset */
    g_assert_cmpuint (max_difference (volume, expected, NULL), ==, 0);
  }
  g_unlink (path);
  g_unlink (mono1);
  g_unlink (signed_path);
}

/* A codestream of 16-bit precision under a header that says 10 bits stored, as in BCS-DBT:
 * the values are masked to the header's bits. */
static void
test_precision_mask (void)
{
  const guint frames = 2, rows = 14, columns = 13;
  g_autofree guint16 *values = make_values (frames, rows, columns, 16, 61);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = tmp_path ("prec.dcm");
  g_autofree char *prefix = tmp_path ("prec");
  g_autofree char *masked = tmp_path ("prec-bits-stored-10.dcm");
  g_autofree guint16 *expected = g_new (guint16, frames * rows * columns);
  const char *args[] = { "mutate", path, prefix, "bits-stored-10", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;

  params.bits_stored = 16;
  g_assert_true (picard_dicom_write (path, &params, values,
                                     PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS, &error));
  g_assert_no_error (error);
  run_helper (args);
  volume = picard_dicom_open (masked, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_volume_get_info (volume)->bits_stored, ==, 10);
  for (guint i = 0; i < frames * rows * columns; i++)
    expected[i] = values[i] & 1023;
  g_assert_cmpuint (max_difference (volume, expected, NULL), ==, 0);
}

static void
test_memory (void)
{
  const guint frames = 4, rows = 33, columns = 20;
  g_autofree guint16 *values = make_values (frames, rows, columns, 12, 5);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = tmp_path ("memory.dcm");
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize size;
  PicardDicomLimits limits;

  params.bits_stored = 12;
  g_assert_true (picard_dicom_write (path, &params, values,
                                     PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS, &error));
  g_assert_true (g_file_get_contents (path, &data, &size, &error));
  {
    g_autoptr(PicardVolume) volume = picard_dicom_open_memory ((guint8 *) data, size, NULL,
                                                               &error);
    g_assert_no_error (error);
    g_assert_cmpstr (picard_volume_get_info (volume)->path, ==, "memory");
    g_assert_cmpuint (max_difference (volume, values, NULL), ==, 0);
  }
  /* The caps apply to memory too. */
  picard_dicom_limits_init (&limits);
  limits.max_frames = 3;
  g_assert_null (picard_dicom_open_memory ((guint8 *) data, size, &limits, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  picard_dicom_limits_init (&limits);
  limits.max_total_bytes = (guint64) frames * rows * columns * 2 - 1;
  g_assert_null (picard_dicom_open_with_limits (path, &limits, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, path));
  g_unlink (path);
}

typedef struct {
  PicardVolume *volume;
  const guint16 *values;
  guint start;
  gint failures;
} ThreadData;

static gpointer
decode_thread (gpointer data)
{
  ThreadData *td = data;
  guint frames = picard_volume_get_n_frames (td->volume);
  gsize frame = (gsize) picard_volume_get_rows (td->volume)
                * picard_volume_get_columns (td->volume);

  for (guint k = 0; k < frames; k++)
    {
      guint f = (td->start + k) % frames;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = picard_volume_get_frame (td->volume, f, NULL, &error);

      if (error != NULL)
        g_printerr ("# frame %u: %s\n", f, error->message);
      if (bytes == NULL || memcmp (g_bytes_get_data (bytes, NULL), td->values + f * frame,
                                   frame * 2) != 0)
        g_atomic_int_inc (&td->failures);
    }
  return NULL;
}

/* Concurrent decodes of one file, in a syntax that goes through DCMTK and one that does not. */
static void
test_threads (void)
{
  const guint frames = 8, rows = 40, columns = 31;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 11);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  PicardDicomSyntax syntaxes[] = { PICARD_DICOM_SYNTAX_JPEG_LS,
                                   PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS };

  for (guint s = 0; s < G_N_ELEMENTS (syntaxes); s++)
    {
      g_autofree char *path = tmp_path ("threads.dcm");
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardVolume) volume = NULL;
      ThreadData data[4];
      GThread *threads[4];

      g_assert_true (picard_dicom_write (path, &params, values, syntaxes[s], &error));
      volume = picard_dicom_open (path, &error);
      g_assert_no_error (error);
      picard_volume_set_cache_limit (volume, 0); /* every request decodes */
      for (guint t = 0; t < 4; t++)
        {
          data[t] = (ThreadData) { volume, values, t * 2, 0 };
          threads[t] = g_thread_new ("decode", decode_thread, &data[t]);
        }
      for (guint t = 0; t < 4; t++)
        {
          g_thread_join (threads[t]);
          g_assert_cmpint (data[t].failures, ==, 0);
        }
      g_assert_cmpuint (picard_volume_get_decode_count (volume), >=, frames);
      g_unlink (path);
    }
}

static void
assert_open_fails (const char *path, gint code, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = picard_dicom_open (path, &error);

  g_assert_null (volume);
  g_assert_error (error, PICARD_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("\"%s\" lacks \"%s\"", error->message, fragment);
}

static void
test_not_dicom (void)
{
  g_autofree char *text = tmp_path ("notes.txt");
  g_autofree char *empty = tmp_path ("empty.dcm");
  g_autofree char *noise = tmp_path ("noise.dcm");
  g_autofree guint16 *random = make_values (1, 40, 40, 16, 3);

  g_assert_true (g_file_set_contents (text, "Patient notes, not an image.\n", -1, NULL));
  assert_open_fails (text, PICARD_ERROR_NOT_SUPPORTED, "not a DICOM");
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  assert_open_fails (empty, PICARD_ERROR_CORRUPT, "empty");
  g_assert_true (g_file_set_contents (noise, (char *) random, 3200, NULL));
  assert_open_fails (noise, PICARD_ERROR_NOT_SUPPORTED, "not a DICOM");
  g_unlink (text);
  g_unlink (empty);
  g_unlink (noise);
}

/* Cut anywhere, a file must fail to open with an error, never half-open. */
static void
test_truncated (void)
{
  const guint frames = 3, rows = 30, columns = 21;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 17);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  PicardDicomSyntax syntaxes[] = { PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE, PICARD_DICOM_SYNTAX_RLE,
                                   PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS };
  g_autofree char *path = tmp_path ("whole.dcm");
  g_autofree char *cut = tmp_path ("cut.dcm");

  for (guint s = 0; s < G_N_ELEMENTS (syntaxes); s++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *data = NULL;
      gsize size;
      gsize cuts[] = { 1, 100, 131, 140, 0, 0, 0, 0, 0 };

      g_assert_true (picard_dicom_write (path, &params, values, syntaxes[s], &error));
      g_assert_true (g_file_get_contents (path, &data, &size, NULL));
      cuts[4] = size / 4;
      cuts[5] = size / 2;
      cuts[6] = size - 1000;
      cuts[7] = size - 9;
      cuts[8] = size - 1;
      for (guint c = 0; c < G_N_ELEMENTS (cuts); c++)
        {
          g_autoptr(PicardVolume) volume = NULL;

          g_assert_true (g_file_set_contents (cut, data, cuts[c], NULL));
          volume = picard_dicom_open (cut, &error);
          if (volume != NULL)
            g_error ("%s cut at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " opened",
                     picard_dicom_syntax_name (syntaxes[s]), cuts[c], size);
          g_assert_true (g_error_matches (error, PICARD_ERROR, PICARD_ERROR_CORRUPT)
                         || g_error_matches (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED)
                         || g_error_matches (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND));
          g_assert_nonnull (strstr (error->message, cut));
          g_clear_error (&error);
        }
    }
  /* pydicom's truncated MR. */
  {
    g_autofree char *ref = tmp_path ("mr-truncated");
    g_autofree char *copy = g_strconcat (ref, ".dcm", NULL);
    g_autoptr(GError) error = NULL;
    char *data;
    gsize size;

    /* decode would fail on purpose: copy the file by hand. */
    g_assert_true (g_file_get_contents ("/usr/lib/python3/dist-packages/pydicom/data/"
                                        "test_files/MR_truncated.dcm", &data, &size, &error));
    g_assert_true (g_file_set_contents (copy, data, size, NULL));
    g_free (data);
    assert_open_fails (copy, PICARD_ERROR_CORRUPT, "truncated");
    g_unlink (copy);
  }
  g_unlink (path);
  g_unlink (cut);
}

static gsize
find_bytes (const char *data, gsize size, const guint8 *needle, gsize length, gsize from)
{
  for (gsize i = from; i + length <= size; i++)
    if (memcmp (data + i, needle, length) == 0)
      return i;
  g_assert_not_reached ();
}

/* Damaged codestreams open (the header is fine) and fail when their frame is asked for. */
static void
test_corrupt_codestream (void)
{
  const guint frames = 3, rows = 30, columns = 21;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 23);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = tmp_path ("j2k.dcm");
  g_autofree char *bad = tmp_path ("j2k-bad.dcm");
  static const guint8 soc[] = { 0xff, 0x4f, 0xff, 0x51 };
  g_autofree char *data = NULL;
  gsize size, frame1, frame2;
  g_autoptr(GError) error = NULL;

  g_assert_true (picard_dicom_write (path, &params, values,
                                     PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS, &error));
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  frame1 = find_bytes (data, size, soc, 4, 0);
  frame2 = find_bytes (data, size, soc, 4, frame1 + 4);

  for (guint damage = 0; damage < 3; damage++)
    {
      g_autofree char *copy = g_memdup2 (data, size);
      g_autoptr(PicardVolume) volume = NULL;
      g_autoptr(GBytes) good = NULL;
      g_autoptr(GBytes) broken = NULL;

      if (damage == 0)
        copy[frame2] = 0x00; /* no SOC marker */
      else if (damage == 1)
        copy[frame2 + 13] ^= 0x40; /* the SIZ width grows */
      else
        memset (copy + frame2 + 200, 0xff, 60); /* a burst of markers in the packets */
      g_assert_true (g_file_set_contents (bad, copy, size, NULL));
      volume = picard_dicom_open (bad, &error);
      g_assert_no_error (error);
      good = picard_volume_get_frame (volume, 0, NULL, &error);
      g_assert_no_error (error);
      broken = picard_volume_get_frame (volume, 1, NULL, &error);
      if (damage < 2)
        {
          g_assert_null (broken);
          g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
          g_assert_nonnull (strstr (error->message, bad));
          g_assert_nonnull (strstr (error->message, "frame 2"));
        }
      /* Damaged packets may decode to wrong values or fail; either way no crash. */
      g_clear_error (&error);
    }
  g_unlink (path);
  g_unlink (bad);
}

/* Inconsistent headers written by pydicom from a good file. */
static void
test_bad_headers (void)
{
  const guint frames = 3, rows = 12, columns = 10;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 29);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  static const struct {
    const char *mutation;
    gint code;
    const char *fragment;
  } cases[] = {
    { "rows-huge", PICARD_ERROR_TOO_LARGE, "limits" },
    { "frames-huge", PICARD_ERROR_TOO_LARGE, "limits" },
    { "frames-more", PICARD_ERROR_CORRUPT, "NumberOfFrames" },
    { "frames-fewer", PICARD_ERROR_CORRUPT, "NumberOfFrames" },
    { "frames-bad", PICARD_ERROR_CORRUPT, "x7" },
    { "no-pixel-data", PICARD_ERROR_NOT_FOUND, "no pixel data" },
    { "rgb", PICARD_ERROR_NOT_SUPPORTED, "RGB" },
    { "palette", PICARD_ERROR_NOT_SUPPORTED, "PALETTE COLOR" },
    { "high-bit", PICARD_ERROR_NOT_SUPPORTED, "HighBit" },
    { "bits-stored-zero", PICARD_ERROR_CORRUPT, "BitsStored" },
  };
  PicardDicomSyntax syntaxes[] = { PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE,
                                   PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS,
                                   PICARD_DICOM_SYNTAX_RLE };
  g_autofree char *path = tmp_path ("good.dcm");
  g_autofree char *prefix = tmp_path ("bad");
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, "mutate");
  g_ptr_array_add (args, path);
  g_ptr_array_add (args, prefix);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_ptr_array_add (args, (char *) cases[i].mutation);
  g_ptr_array_add (args, NULL);
  for (guint s = 0; s < G_N_ELEMENTS (syntaxes); s++)
    {
      g_assert_true (picard_dicom_write (path, &params, values, syntaxes[s], NULL));
      run_helper ((const char *const *) args->pdata);
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          g_autofree char *name = g_strdup_printf ("bad-%s.dcm", cases[i].mutation);
          g_autofree char *bad = tmp_path (name);

          assert_open_fails (bad, cases[i].code, cases[i].fragment);
          g_unlink (bad);
        }
    }
  g_unlink (path);
}

/* Other tools' files we refuse, with the reason. */
static void
test_foreign_refused (void)
{
  static const struct {
    const char *name;
    gint code;
    const char *fragment;
  } cases[] = {
    { "SC_rgb_small_odd.dcm", PICARD_ERROR_NOT_SUPPORTED, "RGB" },
    { "ExplVR_BigEnd.dcm", PICARD_ERROR_NOT_SUPPORTED, "RGB" },
    { "rtdose.dcm", PICARD_ERROR_NOT_SUPPORTED, "32 bits" },
    { "liver_1frame.dcm", PICARD_ERROR_NOT_SUPPORTED, "1 bits" },
    { "rtplan.dcm", PICARD_ERROR_NOT_FOUND, "Rows" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename ("/usr/lib/python3/dist-packages/pydicom/data/"
                                                "test_files", cases[i].name, NULL);
      assert_open_fails (path, cases[i].code, cases[i].fragment);
    }
}

/* Every DICOM file pydicom ships: open and decode every frame; errors are fine, crashes and
 * leaks are not (this runs under ASan too). */
static void
test_sweep (void)
{
  const char *base = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
  g_autoptr(GDir) dir = g_dir_open (base, 0, NULL);
  const char *name;
  guint opened = 0, files = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (base, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardVolume) volume = NULL;

      if (!g_str_has_suffix (name, ".dcm"))
        continue;
      files++;
      volume = picard_dicom_open (path, &error);
      if (volume == NULL)
        {
          g_assert_nonnull (error);
          g_assert_nonnull (strstr (error->message, path));
          continue;
        }
      opened++;
      for (guint f = 0; f < picard_volume_get_n_frames (volume); f++)
        {
          g_autoptr(GBytes) bytes = picard_volume_get_frame (volume, f, NULL, &error);

          g_assert_true ((bytes == NULL) == (error != NULL));
          g_clear_error (&error);
        }
    }
  g_test_message ("%u of %u files opened", opened, files);
  g_assert_cmpuint (opened, >=, 15);
}

static void
test_write_errors (void)
{
  const guint frames = 2, rows = 8, columns = 8;
  g_autofree guint16 *values = make_values (frames, rows, columns, 10, 31);
  PicardDicomWriteParams params = make_params (frames, rows, columns);
  g_autofree char *path = tmp_path ("keep.dcm");
  g_autofree char *missing = g_build_filename (tmpdir, "no-such-folder", "x.dcm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  const char *name;

  g_assert_true (picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_RLE, &error));
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));

  params.view = "LATERAL";
  g_assert_false (picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_RLE, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  params.view = "CC";
  values[5] = 1024; /* does not fit 10 bits */
  g_assert_false (picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_RLE, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  values[5] = 3;
  g_assert_false (picard_dicom_write (missing, &params, values, PICARD_DICOM_SYNTAX_RLE,
                                      &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* The failed writes left the old file and no temporary file. */
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  dir = g_dir_open (tmpdir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".keep.dcm"));

  /* CC and left come back too. */
  params.laterality = PICARD_LATERALITY_LEFT;
  g_assert_true (picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_IMPLICIT_LITTLE,
                                     &error));
  {
    g_autoptr(PicardVolume) volume = picard_dicom_open (path, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (picard_volume_get_info (volume)->view, ==, "CC");
    g_assert_cmpint (picard_volume_get_info (volume)->header_laterality, ==,
                     PICARD_LATERALITY_LEFT);
  }
  g_unlink (path);
}

static void
test_j2k_direct (void)
{
  const guint rows = 19, columns = 45;
  g_autofree guint16 *values = make_values (1, rows, columns, 16, 41);
  g_autofree guint16 *out = g_new (guint16, rows * columns);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = picard_j2k_encode (values, rows, columns, 16, TRUE, &error);
  PicardJ2kInfo info;
  const guint8 *data;
  gsize size;

  g_assert_no_error (error);
  data = g_bytes_get_data (bytes, &size);
  g_assert_true (picard_j2k_probe (data, size, &info, &error));
  g_assert_cmpuint (info.rows, ==, rows);
  g_assert_cmpuint (info.columns, ==, columns);
  g_assert_cmpuint (info.precision, ==, 16);
  g_assert_false (info.is_signed);
  g_assert_true (picard_j2k_decode (data, size, rows, columns, out, NULL, &error));
  g_assert_cmpmem (out, rows * columns * 2, values, rows * columns * 2);
  /* Wrong expectations and truncation are errors. */
  g_assert_false (picard_j2k_decode (data, size, rows + 1, columns, out, NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_false (picard_j2k_decode (data, 40, rows, columns, out, NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_false (picard_j2k_probe (data + 1, size - 1, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("picard-dicom-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/dicom/syntax-names", test_syntax_names);
  for (guint i = 0; i < PICARD_DICOM_N_SYNTAXES; i++)
    {
      g_autofree char *name = g_strdup_printf ("/dicom/round-trip/%s",
                                               picard_dicom_syntax_name (i));
      g_test_add_data_func (name, GINT_TO_POINTER (i), test_round_trip);
    }
  for (guint i = 0; i < G_N_ELEMENTS (foreign_files); i++)
    {
      g_autofree char *name = g_strdup_printf ("/dicom/foreign/%s",
                                               strchr (foreign_files[i], ':') + 1);
      g_test_add_data_func (name, foreign_files[i], test_foreign);
    }
  g_test_add_func ("/dicom/enhanced-window", test_enhanced_window);
  g_test_add_func ("/dicom/conversions", test_conversions);
  g_test_add_func ("/dicom/precision-mask", test_precision_mask);
  g_test_add_func ("/dicom/memory", test_memory);
  g_test_add_func ("/dicom/threads", test_threads);
  g_test_add_func ("/dicom/bad/not-dicom", test_not_dicom);
  g_test_add_func ("/dicom/bad/truncated", test_truncated);
  g_test_add_func ("/dicom/bad/codestream", test_corrupt_codestream);
  g_test_add_func ("/dicom/bad/headers", test_bad_headers);
  g_test_add_func ("/dicom/bad/refused", test_foreign_refused);
  g_test_add_func ("/dicom/bad/sweep", test_sweep);
  g_test_add_func ("/dicom/write-errors", test_write_errors);
  g_test_add_func ("/dicom/j2k", test_j2k_direct);

  status = g_test_run ();
  {
    GDir *dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = tmp_path (name);

        g_unlink (path);
      }
    g_dir_close (dir);
  }
  g_rmdir (tmpdir);
  for (guint i = 0; i < PICARD_DICOM_N_SYNTAXES; i++)
    g_free (round_values[i]);
  g_free (tmpdir);
  return status;
}
