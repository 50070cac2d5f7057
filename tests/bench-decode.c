/* bench-decode: JPEG 2000 lossless frame decoding, Picard against opj_decompress.
 *
 * Writes a DBT-sized volume (2457 x 1996, 10 bits, smooth noise) with picard_dicom_write,
 * extracts its codestreams to .j2k files, then reports, with OpenJPEG using THREADS threads
 * on both sides (default: every processor):
 * - frames per second scrolling through the volume (picard_volume_get_frame), in a fresh
 *   process, with its time to first frame and its peak RSS;
 * - frames per second of `opj_decompress -ImgDir` on the same codestreams, and the ratio.
 *
 * Usage: bench-decode [FRAMES [THREADS]]   (run by `meson test --benchmark`) */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picard-dicom.h"
#include "picard-j2k.h"

#define ROWS 2457
#define COLUMNS 1996

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
file_mb (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? st.st_size / 1e6 : 0;
}

/* The high-water mark of this process image's resident memory (VmHWM): unlike ru_maxrss
 * it does not carry the parent's peak across fork and exec. */
static long
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      || (line = strstr (status, "VmHWM:")) == NULL)
    return -1;
  return atol (line + strlen ("VmHWM:"));
}

/* Smooth noise: a coarse random grid, bilinearly interpolated, plus fine grain. */
static guint16 *
make_volume (guint frames)
{
  const guint step = 32, grid_r = ROWS / step + 2, grid_c = COLUMNS / step + 2;
  gsize frame = (gsize) ROWS * COLUMNS;
  guint16 *values = g_new (guint16, frame * frames);
  g_autofree double *grid = g_new (double, grid_r * grid_c);
  GRand *rand = g_rand_new_with_seed (2024);

  for (guint f = 0; f < frames; f++)
    {
      for (guint i = 0; i < grid_r * grid_c; i++)
        grid[i] = g_rand_double_range (rand, 100, 900);
      for (guint y = 0; y < ROWS; y++)
        for (guint x = 0; x < COLUMNS; x++)
          {
            guint gy = y / step, gx = x / step;
            double ty = (double) (y % step) / step, tx = (double) (x % step) / step;
            double top = grid[gy * grid_c + gx] * (1 - tx) + grid[gy * grid_c + gx + 1] * tx;
            double bottom = grid[(gy + 1) * grid_c + gx] * (1 - tx)
                            + grid[(gy + 1) * grid_c + gx + 1] * tx;
            double v = top * (1 - ty) + bottom * ty + g_rand_int_range (rand, -8, 9);

            values[f * frame + (gsize) y * COLUMNS + x] = (guint16) CLAMP (v, 0, 1023);
          }
    }
  g_rand_free (rand);
  return values;
}

/* Writes each fragment after the basic offset table of the file's encapsulated pixel data
 * to DIR/frame-NNN.j2k, reading the items straight from the file bytes. */
static guint
extract_codestreams (const char *path, const char *dir)
{
  static const guint8 pixel_data[] = { 0xe0, 0x7f, 0x10, 0x00, 'O', 'B', 0, 0,
                                       0xff, 0xff, 0xff, 0xff };
  g_autofree char *data = NULL;
  gsize size, pos = 0;
  guint n = 0;
  gboolean table = TRUE;

  if (!g_file_get_contents (path, &data, &size, NULL))
    g_error ("cannot read %s", path);
  for (gsize i = 0; i + sizeof pixel_data <= size; i++)
    if (memcmp (data + i, pixel_data, sizeof pixel_data) == 0)
      pos = i + sizeof pixel_data;
  g_assert (pos > 0);
  while (pos + 8 <= size)
    {
      const guint8 *item = (const guint8 *) data + pos;
      guint32 length = item[4] | item[5] << 8 | item[6] << 16 | (guint32) item[7] << 24;

      if (!(item[0] == 0xfe && item[1] == 0xff && item[2] == 0x00 && item[3] == 0xe0))
        break; /* the sequence delimiter */
      if (!table)
        {
          g_autofree char *name = g_strdup_printf ("frame-%03u.j2k", n++);
          g_autofree char *out = g_build_filename (dir, name, NULL);

          g_file_set_contents (out, (const char *) item + 8, length, NULL);
        }
      table = FALSE;
      pos += 8 + length;
    }
  return n;
}

/* The viewer's side, in this process: open, first frame, then every frame. */
static int
scroll (const char *path, guint threads)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  double start = now (), opened, first = 0, end;
  long rss_open;
  guint frames;

  picard_j2k_set_threads (threads);
  volume = picard_dicom_open (path, &error);
  if (volume == NULL)
    g_error ("%s", error->message);
  opened = now ();
  rss_open = peak_rss_kib ();
  frames = picard_volume_get_n_frames (volume);
  for (guint f = 0; f < frames; f++)
    {
      g_autoptr(GBytes) bytes = picard_volume_get_frame (volume, f, NULL, &error);

      if (bytes == NULL)
        g_error ("%s", error->message);
      if (f == 0)
        first = now ();
    }
  end = now ();
  printf ("open %.3f s, open + first frame %.3f s\n", opened - start, first - start);
  printf ("picard fps %.3f (%u frames in %.3f s after opening)\n", frames / (end - opened),
          frames, end - opened);
  printf ("peak RSS after open %ld KiB, after scrolling %ld KiB\n", rss_open, peak_rss_kib ());
  return 0;
}

static char *
run (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s", argv[0], error->message);
  return out;
}

int
main (int argc, char **argv)
{
  guint frames = 10, threads = g_get_num_processors ();
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *streams = NULL;
  g_autofree char *threads_text = NULL;
  g_autofree char *report = NULL;
  g_autofree guint16 *values = NULL;
  g_autoptr(GError) error = NULL;
  PicardDicomWriteParams params = { 0 };
  double t, write_s, opj_s, picard_fps = 0;
  guint n;

  if (argc == 4 && strcmp (argv[1], "--scroll") == 0)
    return scroll (argv[2], (guint) atoi (argv[3]));
  if (argc > 1)
    frames = (guint) atoi (argv[1]);
  if (argc > 2)
    threads = (guint) atoi (argv[2]);

  dir = g_dir_make_tmp ("picard-bench-XXXXXX", NULL);
  path = g_build_filename (dir, "volume.dcm", NULL);
  streams = g_build_filename (dir, "j2k", NULL);
  g_mkdir (streams, 0700);

  values = make_volume (frames);
  params.patient_id = "BENCH";
  params.view = "CC";
  params.laterality = PICARD_LATERALITY_LEFT;
  params.bits_stored = 10;
  params.window_center = 512;
  params.window_width = 1024;
  params.frames = frames;
  params.rows = ROWS;
  params.columns = COLUMNS;
  picard_j2k_set_threads (threads);
  t = now ();
  if (!picard_dicom_write (path, &params, values, PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS, &error))
    g_error ("%s", error->message);
  write_s = now () - t;
  n = extract_codestreams (path, streams);
  g_assert (n == frames);
  printf ("volume %u x %u x %u, 10 bits, J2K lossless, %u OpenJPEG threads\n", frames, ROWS,
          COLUMNS, threads);
  printf ("write (encode) %.3f s, %.1f MB on disk\n", write_s, file_mb (path));

  threads_text = g_strdup_printf ("%u", threads);
  {
    const char *argv_scroll[] = { "/proc/self/exe", "--scroll", path, threads_text, NULL };

    report = run (argv_scroll);
    fputs (report, stdout);
    sscanf (strstr (report, "picard fps"), "picard fps %lf", &picard_fps);
  }
  {
    /* One process per codestream, as a viewer would not batch; each prints its decode
     * time (reading and decoding, not writing the output): the fair comparison. */
    double decode_ms = 0;

    t = now ();
    for (guint f = 0; f < frames; f++)
      {
        g_autofree char *in = g_strdup_printf ("%s/frame-%03u.j2k", streams, f);
        g_autofree char *out_path = g_strdup_printf ("%s/frame-%03u.rawl", streams, f);
        const char *argv_opj[] = { "opj_decompress", "-i", in, "-o", out_path, "-threads",
                                   threads_text, NULL };
        g_autofree char *out = run (argv_opj);
        const char *p = strstr (out, "decode time:");

        g_assert (p != NULL);
        decode_ms += g_ascii_strtod (p + strlen ("decode time:"), NULL);
      }
    opj_s = now () - t;
    printf ("opj_decompress %u frames: %.3f s decoding (fps %.3f), %.3f s in all with "
            "process starts and writing raw files\n", frames, decode_ms / 1000,
            frames / (decode_ms / 1000), opj_s);
    printf ("ratio picard/opj_decompress decoding fps %.2f\n",
            picard_fps / (frames / (decode_ms / 1000)));
  }
  {
    g_autoptr(GDir) d = NULL;
    const char *name;
    const char *sub[] = { streams };

    for (guint k = 0; k < G_N_ELEMENTS (sub); k++)
      {
        d = g_dir_open (sub[k], 0, NULL);
        while ((name = g_dir_read_name (d)) != NULL)
          {
            g_autofree char *p = g_build_filename (sub[k], name, NULL);

            g_unlink (p);
          }
        g_clear_pointer (&d, g_dir_close);
        g_rmdir (sub[k]);
      }
    g_unlink (path);
    g_rmdir (dir);
  }
  return 0;
}
