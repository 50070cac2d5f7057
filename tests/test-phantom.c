/* The synthetic DBT generator: determinism, breast geometry, texture statistics, lesions
 * and their boxes, orientation options, metadata. */
#include "picard-error.h"
#include "picard-phantom.h"

#include <math.h>
#include <string.h>

#define ROWS 256u
#define COLUMNS 192u

static PicardPhantom *
make_sized (guint64 seed, guint rows, guint columns, guint frames, PicardLaterality laterality,
            const char *view, guint masses, guint calcs)
{
  PicardPhantomParams params;
  g_autoptr(GError) error = NULL;
  PicardPhantom *ph;

  picard_phantom_params_init (&params);
  params.seed = seed;
  params.rows = rows;
  params.columns = columns;
  params.frames = frames;
  params.laterality = laterality;
  params.view = view;
  params.n_masses = masses;
  params.n_calcification_clusters = calcs;
  ph = picard_phantom_generate (&params, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ph);
  return ph;
}

static PicardPhantom *
make (guint64 seed, guint frames, PicardLaterality laterality, const char *view,
      guint masses, guint calcs)
{
  return make_sized (seed, ROWS, COLUMNS, frames, laterality, view, masses, calcs);
}

static const guint16 *
frame_of (const PicardPhantom *ph, const guint16 *voxels, guint f)
{
  return voxels + (gsize) f * ph->rows * ph->columns;
}

static guint64
fnv1a (const guint16 *v, gsize n)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  /* Little-endian bytes whatever the host, so the digest means the same everywhere. */
  for (gsize i = 0; i < n; i++)
    {
      guint8 bytes[2] = { (guint8) (v[i] & 0xff), (guint8) (v[i] >> 8) };

      for (int k = 0; k < 2; k++)
        {
          h ^= bytes[k];
          h *= G_GUINT64_CONSTANT (0x100000001b3);
        }
    }
  return h;
}

static void
test_deterministic (void)
{
  g_autoptr(PicardPhantom) a = make (11, 6, PICARD_LATERALITY_UNKNOWN, NULL, 1, 1);
  g_autoptr(PicardPhantom) b = make (11, 6, PICARD_LATERALITY_UNKNOWN, NULL, 1, 1);
  g_autoptr(PicardPhantom) c = make (12, 6, PICARD_LATERALITY_UNKNOWN, NULL, 1, 1);
  gsize n = (gsize) a->frames * a->rows * a->columns, differing = 0;

  g_assert_cmpuint (a->rows, ==, ROWS);
  g_assert_cmpuint (a->columns, ==, COLUMNS);
  g_assert_cmpuint (a->frames, ==, 6);
  g_assert_true (memcmp (a->voxels, b->voxels, n * sizeof (guint16)) == 0);
  g_assert_cmpuint (a->n_lesions, ==, b->n_lesions);
  g_assert_true (memcmp (a->lesions, b->lesions, a->n_lesions * sizeof *a->lesions) == 0);
  g_assert_cmpstr (a->study_instance_uid, ==, b->study_instance_uid);
  g_assert_cmpfloat (a->window_center, ==, b->window_center);
  for (gsize i = 0; i < n; i++)
    differing += a->voxels[i] != c->voxels[i];
  g_assert_cmpuint (differing, >, n / 4);
  g_assert_cmpstr (a->study_instance_uid, !=, c->study_instance_uid);
}

/* The generator avoids libm's transcendental functions and contracted multiply-adds, so
 * this digest must come out the same on every machine and build (ASan included). If the
 * model is changed on purpose, print the new digest and update it here. */
static void
test_golden_digest (void)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) ph = NULL;
  g_autoptr(GError) error = NULL;
  guint64 digest;

  picard_phantom_params_init (&params);
  params.seed = 2024;
  params.rows = 128;
  params.columns = 96;
  params.frames = 3;
  params.laterality = PICARD_LATERALITY_LEFT;
  params.view = "MLO";
  params.n_masses = 1;
  params.n_calcification_clusters = 1;
  ph = picard_phantom_generate (&params, &error);
  g_assert_no_error (error);
  digest = fnv1a (ph->voxels, (gsize) 3 * 128 * 96);
  if (g_test_verbose ())
    g_test_message ("digest %016" G_GINT64_MODIFIER "x", digest);
  g_assert_cmphex (digest, ==, G_GUINT64_CONSTANT (0x7d595c9378f6185a));
}

static void
test_range_air_and_side (void)
{
  for (int lat = 0; lat < 2; lat++)
    {
      PicardLaterality l = lat == 0 ? PICARD_LATERALITY_LEFT : PICARD_LATERALITY_RIGHT;
      g_autoptr(PicardPhantom) ph = make (3 + lat, 4, l, "CC", 1, 1);

      g_assert_cmpint (ph->laterality, ==, l);
      g_assert_cmpstr (picard_phantom_view_code (ph), ==, lat == 0 ? "lcc" : "rcc");
      for (guint f = 0; f < ph->frames; f++)
        {
          const guint16 *s = frame_of (ph, ph->voxels, f);
          guint64 first = 0, last = 0;
          gsize air = 0, n = (gsize) ph->rows * ph->columns;
          guint far_x = l == PICARD_LATERALITY_LEFT ? ph->columns - 1 : 0;

          for (gsize i = 0; i < n; i++)
            {
              g_assert_cmpuint (s[i], <=, PICARD_PHANTOM_MAX_VALUE);
              air += s[i] == 0;
            }
          /* Air around the breast, none of it noisy. */
          g_assert_cmpuint (air, >, n / 10);
          g_assert_cmpuint (s[far_x], ==, 0);
          g_assert_cmpuint (s[(gsize) (ph->rows - 1) * ph->columns + far_x], ==, 0);
          for (guint y = 0; y < ph->rows; y++)
            {
              first += s[(gsize) y * ph->columns];
              last += s[(gsize) y * ph->columns + ph->columns - 1];
            }
          if (l == PICARD_LATERALITY_LEFT)
            g_assert_cmpuint (first, >, last);
          else
            g_assert_cmpuint (first, <, last);
          /* The breast is one region against the chest wall: along the middle row,
           * tissue then air, never air inside. */
          {
            const guint16 *row = s + (gsize) (ph->rows / 2) * ph->columns;
            gboolean seen_air = FALSE;

            for (guint i = 0; i < ph->columns; i++)
              {
                guint x = l == PICARD_LATERALITY_LEFT ? i : ph->columns - 1 - i;

                if (row[x] == 0)
                  seen_air = TRUE;
                else
                  g_assert_false (seen_air);
              }
            g_assert_true (seen_air);
          }
        }
    }
}

/* Along rows near the breast's axis: the skin (outermost 2 px) is brighter than the
 * thinning periphery just inside it, which is darker than the interior. */
static void
test_skin_and_falloff (void)
{
  for (guint64 seed = 20; seed < 24; seed++)
    {
      g_autoptr(PicardPhantom) ph = make (seed, 1, PICARD_LATERALITY_LEFT, "CC", 0, 0);
      double skin = 0.0, periphery = 0.0, interior = 0.0;
      guint n = 0;

      for (guint y = ph->rows / 2 - ph->rows / 8; y < ph->rows / 2 + ph->rows / 8; y++)
        {
          const guint16 *row = ph->voxels + (gsize) y * ph->columns;
          guint edge = 0;

          while (edge + 1 < ph->columns && row[edge + 1] != 0)
            edge++;
          g_assert_cmpuint (edge, >, 60);
          skin += (row[edge] + row[edge - 1]) / 2.0;
          for (guint i = 3; i < 6; i++)
            periphery += row[edge - i] / 3.0;
          for (guint i = 30; i < 40; i++)
            interior += row[edge - i] / 10.0;
          n++;
        }
      if (g_test_verbose ())
        g_test_message ("skin %.1f periphery %.1f interior %.1f", skin / n, periphery / n,
                        interior / n);
      g_assert_cmpfloat (skin / n, >, periphery / n + 20.0);
      g_assert_cmpfloat (periphery / n, <, interior / n - 20.0);
    }
}

/* Radially averaged power spectrum slope of a size x size region, Hann-windowed, by a
 * separable DFT written here so the check does not share code with the generator. */
static double
spectrum_slope (const double *img, guint stride, guint x0, guint y0, guint size)
{
  double *re = g_new0 (double, (gsize) size * size), *im = g_new0 (double, (gsize) size * size);
  double *tre = g_new0 (double, (gsize) size * size), *tim = g_new0 (double, (gsize) size * size);
  double *cs = g_new (double, size), *sn = g_new (double, size);
  double *power = g_new0 (double, size), mean = 0.0;
  guint *count = g_new0 (guint, size);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  guint n = 0;

  for (guint k = 0; k < size; k++)
    {
      cs[k] = cos (2 * G_PI * k / size);
      sn[k] = sin (2 * G_PI * k / size);
    }
  for (guint y = 0; y < size; y++)
    for (guint x = 0; x < size; x++)
      mean += img[(gsize) (y0 + y) * stride + x0 + x];
  mean /= (double) size * size;
  for (guint y = 0; y < size; y++)
    for (guint x = 0; x < size; x++)
      {
        double w = (0.5 - 0.5 * cos (2 * G_PI * (x + 0.5) / size))
                   * (0.5 - 0.5 * cos (2 * G_PI * (y + 0.5) / size));

        re[y * size + x] = w * (img[(gsize) (y0 + y) * stride + x0 + x] - mean);
      }
  /* Rows, then columns. */
  for (guint y = 0; y < size; y++)
    for (guint k = 0; k < size; k++)
      {
        double ar = 0, ai = 0;

        for (guint x = 0; x < size; x++)
          {
            guint idx = (k * x) % size;

            ar += re[y * size + x] * cs[idx];
            ai -= re[y * size + x] * sn[idx];
          }
        tre[y * size + k] = ar;
        tim[y * size + k] = ai;
      }
  for (guint k = 0; k < size; k++)
    for (guint l = 0; l < size; l++)
      {
        double ar = 0, ai = 0;

        for (guint y = 0; y < size; y++)
          {
            guint idx = (l * y) % size;

            ar += tre[y * size + k] * cs[idx] + tim[y * size + k] * sn[idx];
            ai += tim[y * size + k] * cs[idx] - tre[y * size + k] * sn[idx];
          }
        re[l * size + k] = ar;
        im[l * size + k] = ai;
      }
  for (guint l = 0; l < size; l++)
    for (guint k = 0; k < size; k++)
      {
        int fl = l <= size / 2 ? (int) l : (int) l - (int) size;
        int fk = k <= size / 2 ? (int) k : (int) k - (int) size;
        guint r = (guint) floor (sqrt ((double) fl * fl + (double) fk * fk) + 0.5);

        if (r < size)
          {
            power[r] += re[l * size + k] * re[l * size + k] + im[l * size + k] * im[l * size + k];
            count[r]++;
          }
      }
  /* Fit over mid frequencies: above the window's leakage, below the noise floor. */
  for (guint r = size / 32; r <= size / 4; r++)
    {
      double lx = log ((double) r / size), ly = log (power[r] / count[r]);

      sx += lx;
      sy += ly;
      sxx += lx * lx;
      sxy += lx * ly;
      n++;
    }
  g_free (re);
  g_free (im);
  g_free (tre);
  g_free (tim);
  g_free (cs);
  g_free (sn);
  g_free (power);
  g_free (count);
  return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static void
test_power_law_field (void)
{
  g_autofree double *field = picard_phantom_power_law_field (5, 256, 256, 3.0);
  double mean = 0, var = 0, beta;

  for (gsize i = 0; i < 256 * 256; i++)
    mean += field[i] / (256.0 * 256.0);
  for (gsize i = 0; i < 256 * 256; i++)
    var += (field[i] - mean) * (field[i] - mean) / (256.0 * 256.0);
  /* Unit variance in expectation; one realisation of a red spectrum varies a lot. */
  g_assert_cmpfloat (var, >, 0.2);
  g_assert_cmpfloat (var, <, 3.0);
  beta = spectrum_slope (field, 256, 64, 64, 128);
  if (g_test_verbose ())
    g_test_message ("field beta %.3f", beta);
  g_assert_cmpfloat (beta, >, 2.7);
  g_assert_cmpfloat (beta, <, 3.3);
}

static void
test_slice_spectrum (void)
{
  for (guint64 seed = 40; seed < 43; seed++)
    {
      PicardPhantomParams params;
      g_autoptr(PicardPhantom) ph = NULL;
      g_autofree double *img = NULL;
      guint x0 = 30, y0, size = 128;
      double beta;

      picard_phantom_params_init (&params);
      params.seed = seed;
      params.rows = 512;
      params.columns = 384;
      params.frames = 1;
      params.laterality = PICARD_LATERALITY_LEFT;
      params.view = "CC";
      ph = picard_phantom_generate (&params, NULL);
      g_assert_nonnull (ph);
      img = g_new (double, (gsize) ph->rows * ph->columns);
      for (gsize i = 0; i < (gsize) ph->rows * ph->columns; i++)
        img[i] = ph->voxels[i];
      y0 = ph->rows / 2 - size / 2;
      for (guint y = y0; y < y0 + size; y++)
        for (guint x = x0; x < x0 + size; x++)
          g_assert_cmpfloat (img[(gsize) y * ph->columns + x], >, 0.0);
      beta = spectrum_slope (img, ph->columns, x0, y0, size);
      if (g_test_verbose ())
        g_test_message ("seed %" G_GUINT64_FORMAT " slice beta %.3f", seed, beta);
      g_assert_cmpfloat (beta, >=, 2.5);
      g_assert_cmpfloat (beta, <=, 3.5);
    }
}

/* Pearson correlation over the pixels that are tissue on both slices. */
static double
slice_correlation (const PicardPhantom *ph, guint fa, guint fb)
{
  const guint16 *a = frame_of (ph, ph->voxels, fa), *b = frame_of (ph, ph->voxels, fb);
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  gsize n = 0;

  for (gsize i = 0; i < (gsize) ph->rows * ph->columns; i++)
    if (a[i] > 0 && b[i] > 0)
      {
        sa += a[i];
        sb += b[i];
        saa += (double) a[i] * a[i];
        sbb += (double) b[i] * b[i];
        sab += (double) a[i] * b[i];
        n++;
      }
  g_assert_cmpuint (n, >, 1000);
  return (n * sab - sa * sb) / sqrt ((n * saa - sa * sa) * (n * sbb - sb * sb));
}

static void
test_slice_correlation (void)
{
  g_autoptr(PicardPhantom) ph = make (8, 16, PICARD_LATERALITY_RIGHT, "CC", 0, 0);
  double adjacent = 0, distant;

  for (guint f = 0; f + 1 < ph->frames; f++)
    {
      double c = slice_correlation (ph, f, f + 1);

      g_assert_cmpfloat (c, >, 0.8);
      adjacent += c / (ph->frames - 1);
    }
  distant = slice_correlation (ph, 0, ph->frames - 1);
  if (g_test_verbose ())
    g_test_message ("adjacent %.3f distant %.3f", adjacent, distant);
  g_assert_cmpfloat (distant, <, adjacent - 0.25);
}

static gboolean
in_boxes (const PicardPhantom *ph, guint skip, guint x, guint y)
{
  for (guint i = 0; i < ph->n_lesions; i++)
    {
      const PicardPhantomLesion *l = &ph->lesions[i];
      guint gx = l->width, gy = l->height;

      if (i == skip)
        continue;
      if (x + gx >= l->x && x < l->x + 2 * gx && y + gy >= l->y && y < l->y + 2 * gy)
        return TRUE;
    }
  return FALSE;
}

static void
test_lesions (void)
{
  guint masses_seen = 0, calcs_seen = 0;

  for (guint64 seed = 100; seed < 104; seed++)
    {
      g_autoptr(PicardPhantom) ph = make_sized (seed, 384, 288, 8, PICARD_LATERALITY_UNKNOWN,
                                                NULL, 2, 2);
      g_autofree guint16 *ds = picard_phantom_dataset_voxels (ph);

      g_assert_cmpuint (ph->n_lesions, ==, 4);
      for (guint i = 0; i < ph->n_lesions; i++)
        {
          const PicardPhantomLesion *l = &ph->lesions[i];
          const guint16 *s;
          double in_sum = 0, ring_sum = 0;
          gsize in_n = 0, ring_n = 0, ring_bright = 0;
          guint in_max = 0;
          guint gx, gy;

          g_assert_cmpint (l->kind, ==, i < 2 ? PICARD_PHANTOM_LESION_MASS
                                              : PICARD_PHANTOM_LESION_CALCIFICATIONS);
          g_assert_cmpuint (l->volume_slices, ==, ph->frames);
          g_assert_cmpuint (l->slice, <, ph->frames);
          g_assert_cmpuint (l->width, >, 2);
          g_assert_cmpuint (l->height, >, 2);
          g_assert_cmpuint (l->x + l->width, <=, ph->columns);
          g_assert_cmpuint (l->y + l->height, <=, ph->rows);
          s = frame_of (ph, ds, l->slice);
          /* Inside the breast: every pixel of the box is tissue. The mean is taken over
           * the box's central half, which a mass fills; the corners of a box around a
           * round core would mix in whatever tissue lies there. */
          for (guint y = l->y; y < l->y + l->height; y++)
            for (guint x = l->x; x < l->x + l->width; x++)
              {
                guint v = s[(gsize) y * ph->columns + x];

                g_assert_cmpuint (v, >, 0);
                if (4 * (x - l->x) >= l->width && 4 * (x - l->x) < 3 * l->width
                    && 4 * (y - l->y) >= l->height && 4 * (y - l->y) < 3 * l->height)
                  {
                    in_sum += v;
                    in_n++;
                  }
                in_max = MAX (in_max, v);
              }
          /* The surroundings: a ring as wide as the box, tissue only, other lesions out. */
          gx = l->width;
          gy = l->height;
          for (guint y = l->y > gy ? l->y - gy : 0; y < MIN (ph->rows, l->y + 2 * gy); y++)
            for (guint x = l->x > gx ? l->x - gx : 0; x < MIN (ph->columns, l->x + 2 * gx); x++)
              {
                guint v = s[(gsize) y * ph->columns + x];

                if (v == 0 || in_boxes (ph, i, x, y)
                    || (x >= l->x && x < l->x + l->width && y >= l->y && y < l->y + l->height))
                  continue;
                ring_sum += v;
                ring_n++;
                ring_bright += v >= 880;
              }
          g_assert_cmpuint (ring_n, >, 0);
          if (g_test_verbose ())
            g_test_message ("seed %" G_GUINT64_FORMAT " lesion %u kind %d in %.1f ring %.1f "
                            "max %u", seed, i, l->kind, in_sum / in_n, ring_sum / ring_n, in_max);
          if (l->kind == PICARD_PHANTOM_LESION_MASS)
            {
              g_assert_cmpfloat (in_sum / in_n, >, ring_sum / ring_n + 60.0);
              masses_seen++;
            }
          else
            {
              g_assert_cmpuint (in_max, >=, 880);
              g_assert_cmpuint (ring_bright * 100, <, ring_n);
              calcs_seen++;
            }
        }
    }
  g_assert_cmpuint (masses_seen, ==, 8);
  g_assert_cmpuint (calcs_seen, ==, 8);
}

/* A mass is a 3-D object: brightest on its central slice, fading away from it. */
static void
test_mass_fades_along_z (void)
{
  g_autoptr(PicardPhantom) with = make (77, 16, PICARD_LATERALITY_LEFT, "CC", 1, 0);
  g_autoptr(PicardPhantom) without = make (77, 16, PICARD_LATERALITY_LEFT, "CC", 0, 0);
  const PicardPhantomLesion *l = &with->lesions[0];
  double excess[16] = { 0 };

  for (guint f = 0; f < with->frames; f++)
    {
      const guint16 *a = frame_of (with, with->voxels, f);
      const guint16 *b = frame_of (without, without->voxels, f);

      excess[f] = 0;
      for (guint y = l->y; y < l->y + l->height; y++)
        for (guint x = l->x; x < l->x + l->width; x++)
          excess[f] += (double) a[(gsize) y * with->columns + x] - b[(gsize) y * with->columns + x];
      excess[f] /= (double) l->width * l->height;
    }
  g_assert_cmpfloat (excess[l->slice], >, 40.0);
  for (guint f = 0; f < with->frames; f++)
    g_assert_cmpfloat (excess[f], <=, excess[l->slice]);
  if (l->slice >= 6)
    g_assert_cmpfloat (excess[l->slice - 6], <, 0.5 * excess[l->slice]);
  if (l->slice + 6 < with->frames)
    g_assert_cmpfloat (excess[l->slice + 6], <, 0.5 * excess[l->slice]);
}

static void
test_normal_has_no_lesions (void)
{
  g_autoptr(PicardPhantom) ph = make (5, 4, PICARD_LATERALITY_UNKNOWN, NULL, 0, 0);

  g_assert_cmpuint (ph->n_lesions, ==, 0);
}

static void
test_stored_rotated (void)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) plain = NULL;
  g_autoptr(PicardPhantom) rotated = NULL;
  g_autofree guint16 *back = NULL;
  gsize plane = (gsize) ROWS * COLUMNS;

  picard_phantom_params_init (&params);
  params.seed = 31;
  params.rows = ROWS;
  params.columns = COLUMNS;
  params.frames = 3;
  params.n_masses = 1;
  params.n_calcification_clusters = 1;
  plain = picard_phantom_generate (&params, NULL);
  params.stored_rotated = TRUE;
  rotated = picard_phantom_generate (&params, NULL);
  g_assert_true (rotated->stored_rotated);
  for (guint f = 0; f < 3; f++)
    for (guint y = 0; y < ROWS; y++)
      for (guint x = 0; x < COLUMNS; x++)
        g_assert_cmpuint (rotated->voxels[f * plane + (gsize) y * COLUMNS + x], ==,
                          plain->voxels[f * plane + (gsize) (ROWS - 1 - y) * COLUMNS
                                        + COLUMNS - 1 - x]);
  back = picard_phantom_dataset_voxels (rotated);
  g_assert_true (memcmp (back, plain->voxels, 3 * plane * sizeof (guint16)) == 0);
  /* Boxes describe dataset orientation either way. */
  g_assert_true (memcmp (plain->lesions, rotated->lesions,
                         plain->n_lesions * sizeof *plain->lesions) == 0);
  g_assert_cmpint (rotated->header_laterality, ==, plain->laterality);
  g_assert_cmpstr (rotated->sop_instance_uid, !=, plain->sop_instance_uid);
  g_assert_cmpstr (rotated->study_instance_uid, ==, plain->study_instance_uid);
}

static void
test_laterality_mirror_and_wrong_header (void)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) left = NULL;
  g_autoptr(PicardPhantom) right = NULL;
  g_autoptr(PicardPhantom) wrong = NULL;
  gsize plane = (gsize) ROWS * COLUMNS;

  picard_phantom_params_init (&params);
  params.seed = 32;
  params.rows = ROWS;
  params.columns = COLUMNS;
  params.frames = 2;
  params.view = "MLO";
  params.n_masses = 1;
  params.n_calcification_clusters = 1;
  params.laterality = PICARD_LATERALITY_LEFT;
  left = picard_phantom_generate (&params, NULL);
  params.laterality = PICARD_LATERALITY_RIGHT;
  right = picard_phantom_generate (&params, NULL);
  params.wrong_header_laterality = TRUE;
  wrong = picard_phantom_generate (&params, NULL);

  g_assert_cmpstr (picard_phantom_view_code (left), ==, "lmlo");
  g_assert_cmpstr (picard_phantom_view_code (right), ==, "rmlo");
  /* The same breast, mirrored. */
  for (guint f = 0; f < 2; f++)
    for (guint y = 0; y < ROWS; y++)
      for (guint x = 0; x < COLUMNS; x++)
        g_assert_cmpuint (right->voxels[f * plane + (gsize) y * COLUMNS + x], ==,
                          left->voxels[f * plane + (gsize) y * COLUMNS + COLUMNS - 1 - x]);
  for (guint i = 0; i < left->n_lesions; i++)
    {
      g_assert_cmpuint (right->lesions[i].x, ==,
                        COLUMNS - left->lesions[i].x - left->lesions[i].width);
      g_assert_cmpuint (right->lesions[i].y, ==, left->lesions[i].y);
    }
  /* A wrong header changes the header only. */
  g_assert_cmpint (right->header_laterality, ==, PICARD_LATERALITY_RIGHT);
  g_assert_cmpint (wrong->laterality, ==, PICARD_LATERALITY_RIGHT);
  g_assert_cmpint (wrong->header_laterality, ==, PICARD_LATERALITY_LEFT);
  g_assert_cmpstr (picard_phantom_view_code (wrong), ==, "rmlo");
  g_assert_true (memcmp (wrong->voxels, right->voxels, 2 * plane * sizeof (guint16)) == 0);
}

/* MLO: the pectoral muscle fills the upper corner at the chest wall; CC leaves it air. */
static void
test_mlo_pectoral (void)
{
  for (guint64 seed = 50; seed < 54; seed++)
    {
      g_autoptr(PicardPhantom) mlo = make (seed, 1, PICARD_LATERALITY_LEFT, "MLO", 0, 0);
      g_autoptr(PicardPhantom) cc = make (seed, 1, PICARD_LATERALITY_LEFT, "CC", 0, 0);
      double corner = 0, breast = 0;
      gsize n = 0;

      g_assert_cmpstr (mlo->view, ==, "MLO");
      g_assert_cmpstr (cc->view, ==, "CC");
      for (gsize i = 0; i < (gsize) ROWS * COLUMNS; i++)
        if (mlo->voxels[i] > 0)
          {
            breast += mlo->voxels[i];
            n++;
          }
      breast /= n;
      for (guint y = 0; y < 8; y++)
        for (guint x = 0; x < 8; x++)
          {
            corner += mlo->voxels[(gsize) y * COLUMNS + x] / 64.0;
            g_assert_cmpuint (cc->voxels[(gsize) y * COLUMNS + x], ==, 0);
          }
      g_assert_cmpfloat (corner, >, breast);
    }
}

static void
assert_valid_uid (const char *uid)
{
  g_auto(GStrv) parts = NULL;

  g_assert_nonnull (uid);
  g_assert_cmpuint (strlen (uid), <=, 64);
  g_assert_true (g_str_has_prefix (uid, PICARD_PHANTOM_UID_ROOT "."));
  parts = g_strsplit (uid, ".", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_assert_cmpuint (strlen (parts[i]), >, 0);
      g_assert_true (parts[i][0] != '0' || parts[i][1] == '\0');
      for (const char *c = parts[i]; *c; c++)
        g_assert_true (g_ascii_isdigit (*c));
    }
}

static void
test_metadata (void)
{
  g_autoptr(PicardPhantom) cc = make (123456789012345ull, 2, PICARD_LATERALITY_LEFT, "CC", 1, 0);
  g_autoptr(PicardPhantom) mlo = make (123456789012345ull, 2, PICARD_LATERALITY_LEFT, "MLO", 1, 0);

  g_assert_cmpstr (cc->patient_id, ==, "Phantom-123456789012345");
  assert_valid_uid (cc->study_instance_uid);
  assert_valid_uid (cc->series_instance_uid);
  assert_valid_uid (cc->sop_instance_uid);
  /* Two views of one patient: one study, two series and instances. */
  g_assert_cmpstr (cc->study_instance_uid, ==, mlo->study_instance_uid);
  g_assert_cmpstr (cc->series_instance_uid, !=, mlo->series_instance_uid);
  g_assert_cmpstr (cc->sop_instance_uid, !=, mlo->sop_instance_uid);
  g_assert_cmpstr (cc->sop_instance_uid, !=, cc->series_instance_uid);
  g_assert_cmpuint (cc->bits_stored, ==, 10);
  /* The window spans the tissue, inside the 10-bit range. */
  g_assert_cmpfloat (cc->window_width, >, 100.0);
  g_assert_cmpfloat (cc->window_center - cc->window_width / 2, >, 0.0);
  g_assert_cmpfloat (cc->window_center + cc->window_width / 2, <, 1100.0);
  g_assert_cmpstr (picard_phantom_class_name (PICARD_PHANTOM_CLASS_CANCER), ==, "cancer");
  g_assert_cmpstr (picard_phantom_class_name (PICARD_PHANTOM_CLASS_BENIGN), ==, "benign");
}

static void
test_random_choices_follow_seed (void)
{
  guint left = 0, mlo = 0;

  for (guint64 seed = 0; seed < 24; seed++)
    {
      PicardPhantomParams params;
      g_autoptr(PicardPhantom) ph = NULL;

      picard_phantom_params_init (&params);
      params.seed = seed;
      params.rows = 64;
      params.columns = 48;
      params.frames = 1;
      ph = picard_phantom_generate (&params, NULL);
      left += ph->laterality == PICARD_LATERALITY_LEFT;
      mlo += g_strcmp0 (ph->view, "MLO") == 0;
    }
  g_assert_cmpuint (left, >, 3);
  g_assert_cmpuint (left, <, 21);
  g_assert_cmpuint (mlo, >, 3);
  g_assert_cmpuint (mlo, <, 21);
}

static void
test_bad_parameters (void)
{
  PicardPhantomParams params;
  g_autoptr(GError) error = NULL;
  PicardPhantom *ph;

  picard_phantom_params_init (&params);
  params.rows = 10;
  params.columns = 200;
  params.frames = 2;
  ph = picard_phantom_generate (&params, &error);
  g_assert_null (ph);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  params.rows = 128;
  params.columns = 96;
  params.view = "LM";
  ph = picard_phantom_generate (&params, &error);
  g_assert_null (ph);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "LM"));
  g_clear_error (&error);

  params.view = NULL;
  params.n_masses = 1000;
  ph = picard_phantom_generate (&params, &error);
  g_assert_null (ph);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Beyond the memory cap: refused before anything is allocated. */
  params.rows = PICARD_VOLUME_MAX_ROWS;
  params.columns = PICARD_VOLUME_MAX_COLUMNS;
  params.frames = 100;
  params.n_masses = 0;
  ph = picard_phantom_generate (&params, &error);
  g_assert_null (ph);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  params.frames = 2;

  /* Too many lesions for a tiny breast: refused, not overlapped. */
  params.rows = 64;
  params.columns = 48;
  params.n_masses = 20;
  ph = picard_phantom_generate (&params, &error);
  g_assert_null (ph);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "room"));
}

static void
count_progress (double fraction, gpointer data)
{
  double *last = data;

  g_assert_cmpfloat (fraction, >, *last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  *last = fraction;
}

static void
test_progress (void)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) ph = NULL;
  double last = 0.0;

  picard_phantom_params_init (&params);
  params.rows = 64;
  params.columns = 48;
  params.frames = 5;
  params.progress = count_progress;
  params.progress_data = &last;
  ph = picard_phantom_generate (&params, NULL);
  g_assert_cmpfloat (last, ==, 1.0);
}

/* Interactive use needs small volumes to be quick; the whole suite runs under ASan too,
 * so the bound is loose. */
static void
test_speed (void)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) ph = NULL;
  gint64 start = g_get_monotonic_time ();

  picard_phantom_params_init (&params);
  params.rows = 512;
  params.columns = 384;
  params.frames = 8;
  params.n_masses = 1;
  params.n_calcification_clusters = 1;
  ph = picard_phantom_generate (&params, NULL);
  g_assert_nonnull (ph);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/phantom/deterministic", test_deterministic);
  g_test_add_func ("/phantom/golden-digest", test_golden_digest);
  g_test_add_func ("/phantom/range-air-side", test_range_air_and_side);
  g_test_add_func ("/phantom/skin", test_skin_and_falloff);
  g_test_add_func ("/phantom/power-law-field", test_power_law_field);
  g_test_add_func ("/phantom/slice-spectrum", test_slice_spectrum);
  g_test_add_func ("/phantom/slice-correlation", test_slice_correlation);
  g_test_add_func ("/phantom/lesions", test_lesions);
  g_test_add_func ("/phantom/mass-fades-along-z", test_mass_fades_along_z);
  g_test_add_func ("/phantom/normal", test_normal_has_no_lesions);
  g_test_add_func ("/phantom/stored-rotated", test_stored_rotated);
  g_test_add_func ("/phantom/laterality", test_laterality_mirror_and_wrong_header);
  g_test_add_func ("/phantom/mlo-pectoral", test_mlo_pectoral);
  g_test_add_func ("/phantom/metadata", test_metadata);
  g_test_add_func ("/phantom/random-choices", test_random_choices_follow_seed);
  g_test_add_func ("/phantom/bad-parameters", test_bad_parameters);
  g_test_add_func ("/phantom/progress", test_progress);
  g_test_add_func ("/phantom/speed", test_speed);
  return g_test_run ();
}
