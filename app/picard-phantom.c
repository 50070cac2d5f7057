/* Synthetic DBT volumes.
 *
 * The breast is built in a canonical orientation (left breast, chest wall at column 0,
 * nipple pointing right) and mapped to dataset and file orientation only when a row is
 * stored. Tissue is a soft-thresholded 1/f^beta Gaussian field; the fields of the slices are
 * Gaussian-weighted mixes of independent "key" fields spaced along z, so neighbouring slices
 * look alike and distant ones do not.
 *
 * Bit-identical output on every machine: all randomness comes from a counter-based hash of
 * the seed, every transcendental function is computed here from + - * / and sqrt (which IEEE
 * 754 rounds exactly), multiply-adds are not contracted, and work split across threads
 * touches disjoint outputs with the same operations in the same order. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

#include "picard-phantom.h"

#include "picard-error.h"

#include <math.h>
#include <string.h>

/* Full BCS-DBT size. */
#define DEFAULT_ROWS 2457u
#define DEFAULT_COLUMNS 1996u
#define DEFAULT_FRAMES 60u
#define MIN_ROWS 64u
#define MIN_COLUMNS 48u
#define MAX_LESIONS 32u
/* Far above a full BCS-DBT volume (~600 MB), below what would thrash a workstation. */
#define MAX_TOTAL_BYTES ((gsize) 8 * 1024 * 1024 * 1024)

#define TEXTURE_BETA 3.2
/* Structures run longer from chest wall to nipple (x) than across: ducts and ligaments
 * converge on the nipple. */
#define TEXTURE_STRETCH 1.7
/* Curvilinear structures (Cooper's ligaments, ducts) follow the zero crossings of a
 * smoother field. */
#define LIGAMENT_BETA 5.0
/* Key fields every KEY_SPACING frames, mixed with a Gaussian of KEY_SIGMA frames. */
#define KEY_SPACING 3
#define KEY_SIGMA 2.5
#define KEY_REACH (3.0 * KEY_SIGMA)

#define SQRT12 3.4641016151377545870548926830117

/* ---- Deterministic math ------------------------------------------------------------ */

#define DET_PI 3.14159265358979323846
#define PIO2_HI 1.57079632673412561417e+00
#define PIO2_LO 6.07710050650619224932e-11
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define LN2 0.69314718055994530942

static void
det_sincos (double x, double *s, double *c)
{
  double k = floor (x * (2.0 / DET_PI) + 0.5);
  double r = (x - k * PIO2_HI) - k * PIO2_LO;
  double r2 = r * r;
  double sr, cr;
  gint64 quadrant = (gint64) k;

  /* Taylor series on [-pi/4, pi/4]: the next terms are below 1e-17. */
  sr = r * (1.0 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880
       + r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0))))))));
  cr = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320
       + r2 * (-1.0 / 3628800 + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0
       + r2 * (1.0 / 20922789888000.0))))))));
  switch (quadrant & 3)
    {
    case 0: *s = sr; *c = cr; break;
    case 1: *s = cr; *c = -sr; break;
    case 2: *s = -sr; *c = -cr; break;
    default: *s = -cr; *c = sr; break;
    }
}

static double
det_exp (double x)
{
  double k, r, p;

  if (x < -700.0)
    return 0.0;
  if (x > 700.0)
    x = 700.0;
  k = floor (x / LN2 + 0.5);
  r = (x - k * LN2_HI) - k * LN2_LO; /* |r| <= 0.35 */
  p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120
      + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880
      + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600.0))))))))))));
  return ldexp (p, (int) k);
}

static double
det_log (double x)
{
  int e;
  double m, s, s2, series;

  g_assert (x > 0.0);
  m = frexp (x, &e);
  if (m < 0.70710678118654752440)
    {
      m *= 2.0;
      e -= 1;
    }
  s = (m - 1.0) / (m + 1.0); /* |s| <= 0.1716 */
  s2 = s * s;
  series = 1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11
           + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19
           + s2 * (1.0 / 21))))))))));
  return e * LN2 + 2.0 * s * series;
}

static double
det_pow (double x, double y)
{
  return det_exp (y * det_log (x));
}

static inline double
clamp01 (double x)
{
  return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
}

static inline double
smoothstep01 (double x)
{
  x = clamp01 (x);
  return x * x * (3.0 - 2.0 * x);
}

/* ---- Counter-based randomness (splitmix64 finaliser) ------------------------------- */

static inline guint64
mix64 (guint64 z)
{
  z += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline guint64
hash4 (guint64 seed, guint64 a, guint64 b, guint64 c)
{
  return mix64 (mix64 (mix64 (mix64 (seed) ^ a) ^ b) ^ c);
}

/* Streams of the generator, so changing one part leaves the others' draws alone. */
enum {
  STREAM_SHAPE = 1,
  STREAM_FIELD,
  STREAM_NOISE,
  STREAM_LESIONS,
  STREAM_UID,
};

typedef struct {
  guint64 state;
} Rng;

static void
rng_init (Rng *rng, guint64 seed, guint64 stream)
{
  rng->state = hash4 (seed, stream, 0x5eed, 0);
}

static guint64
rng_next (Rng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return mix64 (rng->state);
}

/* Uniform in [0, 1). */
static double
rng_uniform (Rng *rng)
{
  return (double) (rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

static double
rng_range (Rng *rng, double lo, double hi)
{
  return lo + (hi - lo) * rng_uniform (rng);
}

static guint
rng_int (Rng *rng, guint lo, guint hi) /* inclusive */
{
  return lo + (guint) (rng_uniform (rng) * (double) (hi - lo + 1));
}

/* ---- A small parallel for ---------------------------------------------------------- */

typedef void (*RangeFunc) (guint begin, guint end, guint worker, gpointer data);

typedef struct {
  RangeFunc func;
  gpointer data;
  guint n;
  guint chunk;
  gint next;
  guint worker;
} ParallelJob;

typedef struct {
  ParallelJob *job;
  guint worker;
} ParallelWorker;

static void
parallel_run (ParallelJob *job, guint worker)
{
  for (;;)
    {
      guint begin = (guint) g_atomic_int_add (&job->next, (gint) job->chunk);

      if (begin >= job->n)
        break;
      job->func (begin, MIN (begin + job->chunk, job->n), worker, job->data);
    }
}

static gpointer
parallel_thread (gpointer data)
{
  ParallelWorker *w = data;

  parallel_run (w->job, w->worker);
  return NULL;
}

static guint
parallel_n_workers (void)
{
  return CLAMP ((guint) g_get_num_processors (), 1u, 16u);
}

/* Runs func over [0, n) in chunks on up to parallel_n_workers() threads (the caller is
 * worker 0). The result must not depend on which worker runs which chunk. */
static void
parallel_for (guint n, guint chunk, RangeFunc func, gpointer data)
{
  ParallelJob job = { func, data, n, MAX (chunk, 1u), 0, 0 };
  guint n_workers = MIN (parallel_n_workers (), (n + job.chunk - 1) / job.chunk);
  GThread *threads[16];
  ParallelWorker workers[16];

  for (guint i = 1; i < n_workers; i++)
    {
      workers[i].job = &job;
      workers[i].worker = i;
      threads[i] = g_thread_new ("phantom", parallel_thread, &workers[i]);
    }
  parallel_run (&job, 0);
  for (guint i = 1; i < n_workers; i++)
    g_thread_join (threads[i]);
}

/* ---- Radix-2 complex FFT ----------------------------------------------------------- */

typedef struct {
  guint n;
  guint *reverse;
  /* For each stage of length len >= 8, its len/2 twiddles exp(2 pi i j / len) as cos, sin
   * pairs, stored one stage after another so the inner loop reads them in order. */
  double *twiddle;
} FftPlan;

static void
fft_plan_init (FftPlan *plan, guint n)
{
  guint bits = 0;
  gsize o = 0;

  while ((1u << bits) < n)
    bits++;
  plan->n = n;
  plan->reverse = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    {
      guint r = 0;

      for (guint b = 0; b < bits; b++)
        if (i & (1u << b))
          r |= 1u << (bits - 1 - b);
      plan->reverse[i] = r;
    }
  plan->twiddle = g_new (double, 2 * (gsize) n);
  for (guint len = 8; len <= n; len *= 2)
    for (guint j = 0; j < len / 2; j++, o += 2)
      det_sincos (2.0 * DET_PI * j / len, &plan->twiddle[o + 1], &plan->twiddle[o]);
}

static void
fft_plan_clear (FftPlan *plan)
{
  g_free (plan->reverse);
  g_free (plan->twiddle);
}

/* In place on n >= 4 interleaved complex values, kernel exp(+2 pi i jk/n), unnormalised. */
static void
fft_run (const FftPlan *plan, double *d)
{
  guint n = plan->n;
  const double *tw = plan->twiddle;

  for (guint i = 0; i < n; i++)
    {
      guint j = plan->reverse[i];

      if (j > i)
        {
          double tr = d[2 * i], ti = d[2 * i + 1];

          d[2 * i] = d[2 * j];
          d[2 * i + 1] = d[2 * j + 1];
          d[2 * j] = tr;
          d[2 * j + 1] = ti;
        }
    }
  /* The stages of length 2 and 4 need no multiplications: one radix-4 pass. */
  for (guint s = 0; s < n; s += 4)
    {
      double *a = d + 2 * s;
      double r0 = a[0] + a[2], i0 = a[1] + a[3], r1 = a[0] - a[2], i1 = a[1] - a[3];
      double r2 = a[4] + a[6], i2 = a[5] + a[7], r3 = a[4] - a[6], i3 = a[5] - a[7];

      a[0] = r0 + r2;
      a[1] = i0 + i2;
      a[4] = r0 - r2;
      a[5] = i0 - i2;
      /* (r3 + i i3) * i = -i3 + i r3 */
      a[2] = r1 - i3;
      a[3] = i1 + r3;
      a[6] = r1 + i3;
      a[7] = i1 - r3;
    }
  for (guint len = 8; len <= n; len *= 2)
    {
      guint half = len / 2;

      for (guint start = 0; start < n; start += len)
        {
          double *a = d + 2 * start, *b = d + 2 * (start + half);

          for (guint j = 0; j < half; j++)
            {
              double wr = tw[2 * j], wi = tw[2 * j + 1];
              double vr = b[2 * j] * wr - b[2 * j + 1] * wi;
              double vi = b[2 * j] * wi + b[2 * j + 1] * wr;

              b[2 * j] = a[2 * j] - vr;
              b[2 * j + 1] = a[2 * j + 1] - vi;
              a[2 * j] += vr;
              a[2 * j + 1] += vi;
            }
        }
      tw += len;
    }
}

/* ---- Power-law Gaussian fields ----------------------------------------------------- */

#define COLUMN_BLOCK 8u

/* The spectrum of one real field: (f^2 + f0^2)^(-beta/2) as power, frequencies along x
 * multiplied by stretch_x. */
typedef struct {
  double beta, f0, stretch_x;
} Spectrum;

typedef struct {
  guint64 seed;
  guint rows, columns; /* the part that is kept */
  guint ny, nx;        /* the periodic FFT grid */
  FftPlan plan_y, plan_x;
  /* Two real fields per transform, each with its own spectrum: the real part of the
   * result is the first, the imaginary part the second. */
  double *amplitude[2]; /* (ny/2+1) x (nx/2+1), by |frequency index| */
  double inv_sigma[2];  /* makes each output field unit-variance */
  double grad_rms[2];   /* RMS gradient of the unit-variance field, per pixel */
  double *spectrum;     /* ny x nx complex */
  double *scratch;      /* per worker: COLUMN_BLOCK x ny complex */
  /* The job in flight. */
  guint64 key;
  float *out_a, *out_b;
  double *out_a64;
} FieldGen;

static guint
next_pow2 (guint n)
{
  guint p = 8;

  while (p < n)
    p *= 2;
  return p;
}

static void
field_gen_init (FieldGen *gen, guint64 seed, guint rows, guint columns, const Spectrum *s0,
                const Spectrum *s1)
{
  const Spectrum *spectra[2] = { s0, s1 };
  guint hy, hx;

  memset (gen, 0, sizeof *gen);
  gen->seed = seed;
  gen->rows = rows;
  gen->columns = columns;
  gen->ny = next_pow2 (rows);
  gen->nx = next_pow2 (columns);
  fft_plan_init (&gen->plan_y, gen->ny);
  fft_plan_init (&gen->plan_x, gen->nx);
  hy = gen->ny / 2 + 1;
  hx = gen->nx / 2 + 1;
  for (int j = 0; j < 2; j++)
    {
      const Spectrum *sp = spectra[j];
      double sum = 0.0, gsum = 0.0;

      gen->amplitude[j] = g_new (double, (gsize) hy * hx);
      for (guint u = 0; u < hy; u++)
        for (guint v = 0; v < hx; v++)
          {
            double fu = (double) u / gen->ny, fv = sp->stretch_x * v / gen->nx;
            double f2 = fu * fu + fv * fv;

            gen->amplitude[j][(gsize) u * hx + v] =
              (u == 0 && v == 0) ? 0.0 : det_pow (f2 + sp->f0 * sp->f0, -sp->beta / 4.0);
          }
      /* A Hermitian pair with unit-variance coefficients adds 2 A^2 per bin to the
       * variance (see field_fill_rows); the gradient adds (2 pi f)^2 times that. */
      for (guint u = 0; u < gen->ny; u++)
        for (guint v = 0; v < gen->nx; v++)
          {
            guint au = u <= gen->ny / 2 ? u : gen->ny - u;
            guint av = v <= gen->nx / 2 ? v : gen->nx - v;
            double a = gen->amplitude[j][(gsize) au * hx + av];
            double fu = (double) au / gen->ny, fv = (double) av / gen->nx;

            sum += 2.0 * a * a;
            gsum += 2.0 * a * a * 4.0 * DET_PI * DET_PI * (fu * fu + fv * fv);
          }
      gen->inv_sigma[j] = 1.0 / sqrt (sum);
      gen->grad_rms[j] = sqrt (gsum / sum);
    }
  gen->spectrum = g_new (double, (gsize) 2 * gen->ny * gen->nx);
  gen->scratch = g_new (double, (gsize) 2 * COLUMN_BLOCK * gen->ny * parallel_n_workers ());
}

static void
field_gen_clear (FieldGen *gen)
{
  fft_plan_clear (&gen->plan_y);
  fft_plan_clear (&gen->plan_x);
  g_free (gen->amplitude[0]);
  g_free (gen->amplitude[1]);
  g_free (gen->spectrum);
  g_free (gen->scratch);
}

static inline double
unit_uniform (guint32 bits)
{
  /* Uniform of unit variance: sums over millions of them are Gaussian anyway, and they
   * need no logarithm. */
  return ((double) bits * (1.0 / 4294967296.0) - 0.5) * SQRT12;
}

static void
field_fill_rows (guint begin, guint end, guint worker, gpointer data)
{
  FieldGen *gen = data;
  guint hx = gen->nx / 2 + 1;
  guint64 base = hash4 (gen->seed, STREAM_FIELD, gen->key, 0);

  for (guint u = begin; u < end; u++)
    {
      guint au = u <= gen->ny / 2 ? u : gen->ny - u;
      guint mu = (gen->ny - u) % gen->ny;
      double *row = gen->spectrum + (gsize) 2 * u * gen->nx;

      for (guint v = 0; v < gen->nx; v++)
        {
          guint av = v <= gen->nx / 2 ? v : gen->nx - v;
          guint mv = (gen->nx - v) % gen->nx;
          guint64 self = (guint64) u * gen->nx + v, mirror = (guint64) mu * gen->nx + mv;
          /* Both bins of a pair draw from the lower index: F(-k) = conj F(k) makes
           * each field real. */
          guint64 h0 = mix64 (base + MIN (self, mirror) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
          guint64 h1 = mix64 (h0);
          double sign = self <= mirror ? 1.0 : -1.0;
          double re0 = unit_uniform ((guint32) (h0 >> 32)), im0 = unit_uniform ((guint32) h0);
          double re1 = unit_uniform ((guint32) (h1 >> 32)), im1 = unit_uniform ((guint32) h1);
          double a0 = gen->amplitude[0][(gsize) au * hx + av];
          double a1 = gen->amplitude[1][(gsize) au * hx + av];

          if (self == mirror)
            {
              /* A self-paired bin is real; sqrt 2 keeps its share of the variance. */
              re0 *= G_SQRT2;
              re1 *= G_SQRT2;
              im0 = im1 = 0.0;
            }
          /* X = F0 + i F1. */
          row[2 * v] = a0 * re0 - a1 * sign * im1;
          row[2 * v + 1] = a0 * sign * im0 + a1 * re1;
        }
    }
}

static void
field_columns (guint begin, guint end, guint worker, gpointer data)
{
  FieldGen *gen = data;
  double *buf = gen->scratch + (gsize) 2 * COLUMN_BLOCK * gen->ny * worker;

  for (guint block = begin; block < end; block++)
    {
      guint v0 = block * COLUMN_BLOCK;
      guint nb = MIN (COLUMN_BLOCK, gen->nx - v0);

      for (guint u = 0; u < gen->ny; u++)
        {
          const double *src = gen->spectrum + (gsize) 2 * ((gsize) u * gen->nx + v0);

          for (guint b = 0; b < nb; b++)
            {
              buf[(gsize) 2 * (b * gen->ny + u)] = src[2 * b];
              buf[(gsize) 2 * (b * gen->ny + u) + 1] = src[2 * b + 1];
            }
        }
      for (guint b = 0; b < nb; b++)
        fft_run (&gen->plan_y, buf + (gsize) 2 * b * gen->ny);
      for (guint u = 0; u < gen->ny; u++)
        {
          double *dst = gen->spectrum + (gsize) 2 * ((gsize) u * gen->nx + v0);

          for (guint b = 0; b < nb; b++)
            {
              dst[2 * b] = buf[(gsize) 2 * (b * gen->ny + u)];
              dst[2 * b + 1] = buf[(gsize) 2 * (b * gen->ny + u) + 1];
            }
        }
    }
}

static void
field_rows (guint begin, guint end, guint worker, gpointer data)
{
  FieldGen *gen = data;

  for (guint y = begin; y < end; y++)
    {
      double *row = gen->spectrum + (gsize) 2 * y * gen->nx;
      gsize o = (gsize) y * gen->columns;

      fft_run (&gen->plan_x, row);
      for (guint x = 0; x < gen->columns; x++)
        {
          if (gen->out_a64 != NULL)
            gen->out_a64[o + x] = row[2 * x] * gen->inv_sigma[0];
          if (gen->out_a != NULL)
            gen->out_a[o + x] = (float) (row[2 * x] * gen->inv_sigma[0]);
          if (gen->out_b != NULL)
            gen->out_b[o + x] = (float) (row[2 * x + 1] * gen->inv_sigma[1]);
        }
    }
}

static void
field_gen_make (FieldGen *gen, guint64 key, float *out_a, float *out_b, double *out_a64)
{
  gen->key = key;
  gen->out_a = out_a;
  gen->out_b = out_b;
  gen->out_a64 = out_a64;
  parallel_for (gen->ny, 16, field_fill_rows, gen);
  parallel_for (gen->nx / COLUMN_BLOCK, 4, field_columns, gen);
  /* Only the kept rows need their row transform. */
  parallel_for (gen->rows, 8, field_rows, gen);
}

double *
picard_phantom_power_law_field (guint64 seed, guint rows, guint columns, double beta)
{
  Spectrum sp = { beta, 1.0 / MAX (rows, columns), 1.0 };
  FieldGen gen;
  double *out;

  g_return_val_if_fail (rows >= 8 && columns >= 8, NULL);
  g_return_val_if_fail (rows <= PICARD_VOLUME_MAX_ROWS && columns <= PICARD_VOLUME_MAX_COLUMNS,
                        NULL);

  out = g_new (double, (gsize) rows * columns);
  field_gen_init (&gen, seed, rows, columns, &sp, &sp);
  field_gen_make (&gen, 0, NULL, NULL, out);
  field_gen_clear (&gen);
  return out;
}

/* ---- The breast ------------------------------------------------------------------- */

typedef struct {
  /* Canonical geometry, pixels: an ellipse centred on the chest wall (x = 0). */
  double a;              /* depth, chest wall to nipple */
  double b_up, b_down;   /* half heights above and below the axis */
  double cy, tilt;       /* axis: y = cy + tilt * x */
  double shrink;         /* how much smaller the outline is on the first/last slice */
  double skin_width;
  double falloff_width;  /* the thinning periphery */
  gboolean mlo;
  double pec_x, pec_y, pec_bulge; /* pectoral muscle: x/pec_x + y/pec_y + bulge*.. < 1 */
  double pec_edge;       /* soft edge of the muscle, pixels */
  /* Tissue. */
  double fat, gland, skin, muscle;
  double density, gain;  /* fibroglandular amount and how sharply it saturates */
  double texture;        /* texture amplitude within fat */
  double ligaments;      /* strength of the curvilinear structures */
  double ligament_width; /* half width, pixels */
  double noise;
} Breast;

typedef struct {
  double a, b_up, b_down;
  double ia2, ib2_up, ib2_down; /* 1/a^2, 1/b^2 */
  double ia, ib_up, ib_down;    /* 1/a, 1/b */
} SliceOutline;

static SliceOutline
breast_outline (const Breast *breast, guint frame, guint frames)
{
  double zn = frames > 1 ? (2.0 * frame / (frames - 1) - 1.0) : 0.0;
  double s = 1.0 - breast->shrink * zn * zn;
  SliceOutline o;

  o.a = breast->a * s;
  o.b_up = breast->b_up * (1.0 - 0.5 * breast->shrink * zn * zn);
  o.b_down = breast->b_down * (1.0 - 0.5 * breast->shrink * zn * zn);
  o.ia = 1.0 / o.a;
  o.ib_up = 1.0 / o.b_up;
  o.ib_down = 1.0 / o.b_down;
  o.ia2 = o.ia * o.ia;
  o.ib2_up = o.ib_up * o.ib_up;
  o.ib2_down = o.ib_down * o.ib_down;

  return o;
}

/* q < 1 inside; *dist: an estimate of the distance to the outline in pixels (accurate near
 * it, large deep inside). */
static double
breast_q (const Breast *breast, const SliceOutline *o, double x, double y, double *dist)
{
  double yy = y - (breast->cy + breast->tilt * x);
  double ia2 = o->ia2, ib2 = yy < 0.0 ? o->ib2_up : o->ib2_down;
  double q = x * x * ia2 + yy * yy * ib2;

  if (dist != NULL && q < 1.0)
    {
      double gx = 2.0 * x * ia2, gy = 2.0 * yy * ib2;
      double g = sqrt (gx * gx + gy * gy);

      *dist = g > 1e-12 ? (1.0 - q) / g : 1e9;
    }
  return q;
}

/* 0 outside the pectoral muscle, 1 inside, soft across its edge. */
static double
breast_muscle (const Breast *breast, double x, double y)
{
  double u, v, s, grad;

  if (!breast->mlo)
    return 0.0;
  u = x / breast->pec_x;
  v = y / breast->pec_y;
  s = u + v + breast->pec_bulge * u * v - 1.0;
  grad = sqrt ((1.0 + breast->pec_bulge * v) * (1.0 + breast->pec_bulge * v)
               / (breast->pec_x * breast->pec_x)
               + (1.0 + breast->pec_bulge * u) * (1.0 + breast->pec_bulge * u)
               / (breast->pec_y * breast->pec_y));
  return smoothstep01 (0.5 - s / (grad * breast->pec_edge));
}

/* ---- Lesions ----------------------------------------------------------------------- */

#define N_HARMONICS 5
#define MAX_SPICULES 24
#define MAX_CALCS 12

typedef struct {
  double x0, y0, x1, y1, x2, y2; /* two segments, canonical pixels */
  double width0, width1;         /* at the root and the tip */
  double strength;
} Spicule;

typedef struct {
  PicardPhantomLesionKind kind;
  PicardPhantomClass klass;
  double cx, cy;          /* canonical pixels */
  guint cz;
  double extent;          /* radius of everything it draws, on the central slice */
  double amplitude;       /* masses: the core's level; calcifications: unused */
  double spicule_amplitude;
  double sigma_z;         /* frames */
  /* Mass. */
  double radius, elongation, cos_r, sin_r;
  double edge;            /* width of the margin, relative to the radius */
  double harm_amp[N_HARMONICS], harm_cos[N_HARMONICS], harm_sin[N_HARMONICS];
  Spicule spicules[MAX_SPICULES];
  guint n_spicules;
  /* Calcifications. */
  double dot_x[MAX_CALCS], dot_y[MAX_CALCS], dot_r[MAX_CALCS], dot_peak[MAX_CALCS];
  guint n_dots;
  gint z_lo, z_hi;        /* the slices the dots appear on */
  /* The box, canonical pixels, inclusive-exclusive. */
  int bx0, by0, bx1, by1;
} Lesion;

/* The core's boundary radius relative to its mean, at the direction (c, s). */
static double
mass_modulation (const Lesion *m, double c, double s)
{
  double cm = c, sm = s, mod = 1.0;

  for (guint h = 0; h < N_HARMONICS; h++)
    {
      double cn = cm * c - sm * s, sn = sm * c + cm * s; /* harmonic h + 2 */

      cm = cn;
      sm = sn;
      mod += m->harm_amp[h] * (cm * m->harm_cos[h] - sm * m->harm_sin[h]);
    }
  return mod;
}

static double
mass_core (const Lesion *m, double x, double y, double size)
{
  double dx = x - m->cx, dy = y - m->cy;
  double px = dx * m->cos_r + dy * m->sin_r;
  double py = (-dx * m->sin_r + dy * m->cos_r) / m->elongation;
  double r = sqrt (px * px + py * py), rho, mod;

  if (r < 1e-9)
    return 1.0;
  mod = mass_modulation (m, px / r, py / r);
  rho = r / (m->radius * size * mod);
  return smoothstep01 ((1.0 + 0.5 * m->edge - rho) / m->edge)
         * (1.0 - 0.3 * MIN (rho * rho, 1.0));
}

static double
segment_distance (double px, double py, double x0, double y0, double x1, double y1,
                  double *t)
{
  double dx = x1 - x0, dy = y1 - y0;
  double len2 = dx * dx + dy * dy;
  double u = len2 > 0.0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.0;
  double ex, ey;

  u = clamp01 (u);
  ex = px - (x0 + u * dx);
  ey = py - (y0 + u * dy);
  *t = u;
  return sqrt (ex * ex + ey * ey);
}

static double
mass_spicules (const Lesion *m, double x, double y, double size)
{
  double best = 0.0;

  for (guint i = 0; i < m->n_spicules; i++)
    {
      const Spicule *s = &m->spicules[i];
      /* Off the central slice the spicules shorten towards their root. */
      double x1 = s->x0 + (s->x1 - s->x0) * size, y1 = s->y0 + (s->y1 - s->y0) * size;
      double x2 = s->x0 + (s->x2 - s->x0) * size, y2 = s->y0 + (s->y2 - s->y0) * size;
      double t1, t2, d1, d2, t, d, w, p;

      d1 = segment_distance (x, y, s->x0, s->y0, x1, y1, &t1);
      d2 = segment_distance (x, y, x1, y1, x2, y2, &t2);
      if (d1 <= d2)
        {
          d = d1;
          t = 0.5 * t1;
        }
      else
        {
          d = d2;
          t = 0.5 + 0.5 * t2;
        }
      w = s->width0 + (s->width1 - s->width0) * t;
      p = d / w;
      p = 1.0 / (1.0 + p * p);
      p = p * p * s->strength * (1.0 - 0.55 * t);
      if (p > best)
        best = p;
    }
  return best;
}

/* ---- Generation ------------------------------------------------------------------- */

typedef struct {
  gint key;
  float *a, *b;
} KeyField;

typedef struct {
  const PicardPhantomParams *params;
  guint rows, columns, frames;
  gboolean right, rotated;
  Breast breast;
  Lesion *lesions;
  guint n_lesions;
  guint64 seed;
  guint16 *voxels;
  /* The frame in flight. */
  guint frame;
  SliceOutline outline;
  const KeyField *keys[16];
  double weights[16];
  guint n_keys;
  double lesion_gain[MAX_LESIONS];  /* core intensity factor on this frame */
  double lesion_sgain[MAX_LESIONS]; /* spicules */
  double lesion_size[MAX_LESIONS];
  double *row_scratch;              /* per worker: 3 x columns */
  double ligament_scale;
} Gen;

static void
compose_rows (guint begin, guint end, guint worker, gpointer data)
{
  Gen *g = data;
  const Breast *br = &g->breast;
  double *v = g->row_scratch + (gsize) 3 * g->columns * worker;
  double *dfield = v + g->columns, *distance = v + 2 * g->columns;
  guint16 *frame_out = g->voxels + (gsize) g->frame * g->rows * g->columns;
  gboolean flip_x = g->right != g->rotated, flip_y = g->rotated;

  for (guint y = begin; y < end; y++)
    {
      gsize o = (gsize) y * g->columns;
      guint16 *out = frame_out + (gsize) (flip_y ? g->rows - 1 - y : y) * g->columns;
      guint64 noise_row = hash4 (g->seed, STREAM_NOISE, g->frame, y);

      /* Tissue. */
      for (guint x = 0; x < g->columns; x++)
        {
          double q = breast_q (br, &g->outline, x, y, &distance[x]);
          double d = 0.0, l = 0.0, ux, uy, yy, bias, t, gl, val, muscle, lig;
          guint64 h;

          if (q >= 1.0)
            {
              v[x] = -1.0;
              continue;
            }
          for (guint k = 0; k < g->n_keys; k++)
            {
              d += g->weights[k] * g->keys[k]->a[o + x];
              l += g->weights[k] * g->keys[k]->b[o + x];
            }
          dfield[x] = d;
          yy = y - (br->cy + br->tilt * x);
          ux = x * g->outline.ia;
          uy = yy * (yy < 0.0 ? g->outline.ib_up : g->outline.ib_down);
          /* Glandular tissue gathers behind the nipple, fat at the periphery and near
           * the chest wall. */
          bias = br->density - 1.1 * ((ux - 0.45) / 0.45) * ((ux - 0.45) / 0.45)
                 - 1.5 * (uy / 0.7) * (uy / 0.7);
          t = br->gain * (d + bias);
          gl = 0.5 + 0.5 * t / sqrt (1.0 + t * t);
          val = br->fat + (br->gland - br->fat) * gl + br->texture * d;
          lig = l * g->ligament_scale;
          lig = 1.0 / (1.0 + lig * lig);
          val += br->ligaments * lig * lig * (1.0 - 0.6 * gl);
          muscle = breast_muscle (br, x, y);
          if (muscle > 0.0)
            val += (br->muscle + 0.8 * br->texture * d - val) * muscle;
          /* Quantum noise: Irwin-Hall of four uniforms, variance 1. */
          h = mix64 (noise_row + x * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
          val += br->noise * (((double) (h & 0xffff) + (double) ((h >> 16) & 0xffff)
                               + (double) ((h >> 32) & 0xffff) + (double) (h >> 48))
                              * (1.0 / 65536.0) - 2.0) * 1.7320508075688772;
          v[x] = val;
        }

      /* Lesions. */
      for (guint i = 0; i < g->n_lesions; i++)
        {
          const Lesion *les = &g->lesions[i];
          int x0, x1;

          if (g->lesion_gain[i] <= 0.0 || (double) y < les->cy - les->extent - 2.0
              || (double) y > les->cy + les->extent + 2.0)
            continue;
          x0 = MAX (0, (int) floor (les->cx - les->extent - 2.0));
          x1 = MIN ((int) g->columns - 1, (int) ceil (les->cx + les->extent + 2.0));
          for (int x = x0; x <= x1; x++)
            {
              if (v[x] < 0.0)
                continue;
              if (les->kind == PICARD_PHANTOM_LESION_MASS)
                {
                  double size = g->lesion_size[i];
                  double core = mass_core (les, x, y, size) * g->lesion_gain[i];
                  double spic = mass_spicules (les, x, y, size) * g->lesion_sgain[i];

                  /* The core replaces the tissue it displaces with its own denser,
                   * smoother material; spicules add to it. */
                  v[x] += (les->amplitude * (1.0 + 0.05 * dfield[x]) - v[x]) * core
                          + les->spicule_amplitude * spic;
                }
              else
                {
                  for (guint k = 0; k < les->n_dots; k++)
                    {
                      double dx = x - les->dot_x[k], dy = y - les->dot_y[k];
                      double p = clamp01 (les->dot_r[k] + 0.5 - sqrt (dx * dx + dy * dy));

                      if (p > 0.0)
                        v[x] += (les->dot_peak[k] - v[x]) * p * g->lesion_gain[i];
                    }
                }
            }
        }

      /* Periphery, skin, quantisation, orientation. */
      for (guint x = 0; x < g->columns; x++)
        {
          double val = v[x], dist = distance[x], fall, skin;
          guint16 stored;

          if (val < 0.0)
            stored = 0;
          else
            {
              if (dist < br->falloff_width)
                {
                  fall = 1.0 - dist / br->falloff_width;
                  fall = sqrt (1.0 - fall * fall);
                  val *= 0.3 + 0.7 * fall;
                }
              skin = (dist - 0.55 * br->skin_width) / (0.55 * br->skin_width);
              skin = 1.0 - skin * skin;
              if (skin > 0.0)
                val += (br->skin - val) * skin * skin;
              val = val < 1.0 ? 1.0 : (val > PICARD_PHANTOM_MAX_VALUE ? PICARD_PHANTOM_MAX_VALUE
                                       : val);
              stored = (guint16) (val + 0.5);
            }
          out[flip_x ? g->columns - 1 - x : x] = stored;
        }
    }
}

static void
breast_draw (Breast *br, Rng *rng, guint rows, guint columns, gboolean mlo)
{
  double scale = MIN (rows / (double) DEFAULT_ROWS, columns / (double) DEFAULT_COLUMNS);

  br->mlo = mlo;
  if (!mlo)
    {
      br->a = columns * rng_range (rng, 0.70, 0.90);
      br->cy = rows * rng_range (rng, 0.46, 0.54);
      br->b_up = rows * rng_range (rng, 0.34, 0.44);
      br->b_down = rows * rng_range (rng, 0.34, 0.44);
      br->tilt = rng_range (rng, -0.08, 0.08);
    }
  else
    {
      /* MLO: the breast hangs from the axilla at the top edge. */
      br->a = columns * rng_range (rng, 0.68, 0.86);
      br->cy = rows * rng_range (rng, 0.40, 0.48);
      br->b_up = rows * rng_range (rng, 0.46, 0.56);
      br->b_down = rows * rng_range (rng, 0.36, 0.44);
      br->tilt = rng_range (rng, 0.02, 0.14);
      br->pec_x = columns * rng_range (rng, 0.16, 0.30);
      br->pec_y = rows * rng_range (rng, 0.30, 0.55);
      br->pec_bulge = rng_range (rng, 0.0, 0.5);
      br->pec_edge = MAX (1.5, 12.0 * scale);
    }
  br->shrink = rng_range (rng, 0.04, 0.12);
  br->skin_width = MAX (2.0, 18.0 * scale * rng_range (rng, 0.8, 1.2));
  br->falloff_width = br->a * rng_range (rng, 0.06, 0.12);
  br->fat = rng_range (rng, 250.0, 320.0);
  br->gland = br->fat + rng_range (rng, 280.0, 380.0);
  br->skin = br->fat + rng_range (rng, 160.0, 240.0);
  br->muscle = br->gland + rng_range (rng, -40.0, 20.0);
  br->density = rng_range (rng, -0.6, 0.9);
  br->gain = rng_range (rng, 0.9, 1.6);
  br->texture = rng_range (rng, 35.0, 55.0);
  br->ligaments = rng_range (rng, 50.0, 90.0);
  br->ligament_width = MAX (0.7, 4.0 * scale * rng_range (rng, 0.7, 1.3));
  br->noise = rng_range (rng, 4.0, 8.0);
}

/* Whether a disc of @radius around (x, y) on the central slice lies in the breast, clear
 * of the skin, the thin periphery, the muscle, the image edges and other lesions. */
static gboolean
lesion_fits (const Gen *g, const SliceOutline *o, double x, double y, double radius,
             const Lesion *placed, guint n_placed)
{
  const Breast *br = &g->breast;
  double margin = br->skin_width + 0.5 * br->falloff_width;

  for (guint i = 0; i < n_placed; i++)
    {
      double dx = x - placed[i].cx, dy = y - placed[i].cy;

      if (sqrt (dx * dx + dy * dy) < radius + placed[i].extent + 4.0)
        return FALSE;
    }
  for (guint k = 0; k <= 16; k++)
    {
      double px = x, py = y, dist, c, s;

      if (k > 0)
        {
          det_sincos (2.0 * DET_PI * k / 16.0, &s, &c);
          px += radius * c;
          py += radius * s;
        }
      if (px < 2.0 || py < 2.0 || px > g->columns - 3.0 || py > g->rows - 3.0)
        return FALSE;
      if (breast_q (br, o, px, py, &dist) >= 1.0 || dist < margin)
        return FALSE;
      if (breast_muscle (br, px, py) > 0.0 || breast_muscle (br, px - margin, py - margin) > 0.0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
lesion_place (Gen *g, Rng *rng, Lesion *les, guint index)
{
  guint lo = g->frames / 4, hi = MAX (lo, (g->frames * 3 + 3) / 4 - 1);
  SliceOutline o;

  les->cz = MIN (rng_int (rng, lo, hi), g->frames - 1);
  o = breast_outline (&g->breast, les->cz, g->frames);
  for (guint attempt = 0; attempt < 400; attempt++)
    {
      double x = rng_uniform (rng) * o.a;
      double y = g->breast.cy - o.b_up + rng_uniform (rng) * (o.b_up + o.b_down);

      if (lesion_fits (g, &o, x, y, les->extent, g->lesions, index))
        {
          les->cx = x;
          les->cy = y;
          return TRUE;
        }
    }
  return FALSE;
}

static void
mass_draw (Lesion *m, Rng *rng, const Breast *br, double scale, double shrink)
{
  double maxmod = 1.0, len_max = 0.0;

  m->kind = PICARD_PHANTOM_LESION_MASS;
  m->klass = rng_uniform (rng) < 0.65 ? PICARD_PHANTOM_CLASS_CANCER : PICARD_PHANTOM_CLASS_BENIGN;
  /* 5-10 mm at 0.1 mm per pixel. */
  m->radius = MAX (8.0, rng_range (rng, 50.0, 100.0) * scale) * shrink;
  m->elongation = rng_range (rng, 0.7, 1.0);
  det_sincos (rng_range (rng, 0.0, DET_PI), &m->sin_r, &m->cos_r);
  for (guint h = 0; h < N_HARMONICS; h++)
    {
      m->harm_amp[h] = rng_range (rng, 0.0, 0.12 / (1.0 + 0.5 * h));
      det_sincos (rng_range (rng, 0.0, 2.0 * DET_PI), &m->harm_sin[h], &m->harm_cos[h]);
      maxmod += m->harm_amp[h];
    }
  m->amplitude = br->gland + rng_range (rng, 150.0, 230.0);
  m->spicule_amplitude = (m->amplitude - br->fat) * rng_range (rng, 0.35, 0.5);
  /* Cancers have ill-defined margins, benign masses sharp ones. */
  m->edge = m->klass == PICARD_PHANTOM_CLASS_CANCER ? rng_range (rng, 0.3, 0.5)
            : rng_range (rng, 0.12, 0.2);
  m->sigma_z = rng_range (rng, 1.5, 3.0);
  /* Cancers are spiculated; benign masses mostly circumscribed. */
  m->n_spicules = m->klass == PICARD_PHANTOM_CLASS_CANCER ? rng_int (rng, 10, MAX_SPICULES)
                  : rng_int (rng, 0, 4);
  for (guint i = 0; i < m->n_spicules; i++)
    {
      Spicule *s = &m->spicules[i];
      double ang = 2.0 * DET_PI * (i + rng_range (rng, -0.35, 0.35)) / m->n_spicules;
      double len = m->radius * rng_range (rng, 0.5, 1.5);
      double bend = rng_range (rng, -0.2, 0.2);
      double c, sn, c2, s2;

      det_sincos (ang, &sn, &c);
      det_sincos (ang + bend, &s2, &c2);
      s->x0 = 0.8 * m->radius * c;
      s->y0 = 0.8 * m->radius * sn;
      s->x1 = s->x0 + 0.5 * len * c;
      s->y1 = s->y0 + 0.5 * len * sn;
      s->x2 = s->x1 + 0.5 * len * c2;
      s->y2 = s->y1 + 0.5 * len * s2;
      s->width0 = MAX (0.9, m->radius * rng_range (rng, 0.07, 0.13));
      s->width1 = MAX (0.5, 0.2 * s->width0);
      s->strength = rng_range (rng, 0.45, 0.8);
      len_max = MAX (len_max, 0.8 * m->radius + len);
    }
  m->extent = MAX (m->radius * maxmod * (1.0 + 0.5 * m->edge), len_max) + 3.0;
}

static void
mass_finish (Lesion *m)
{
  /* Spicules were drawn around the origin in the unrotated frame; the core's rotation
   * applies to them too, and they move with the centre. */
  for (guint i = 0; i < m->n_spicules; i++)
    {
      Spicule *s = &m->spicules[i];
      double *pts[3][2] = { { &s->x0, &s->y0 }, { &s->x1, &s->y1 }, { &s->x2, &s->y2 } };

      for (guint p = 0; p < 3; p++)
        {
          double x = *pts[p][0], y = *pts[p][1];

          *pts[p][0] = m->cx + x * m->cos_r - y * m->sin_r;
          *pts[p][1] = m->cy + x * m->sin_r + y * m->cos_r;
        }
    }
}

static void
calcs_draw (Lesion *c, Rng *rng, double scale)
{
  c->kind = PICARD_PHANTOM_LESION_CALCIFICATIONS;
  c->klass = rng_uniform (rng) < 0.35 ? PICARD_PHANTOM_CLASS_CANCER : PICARD_PHANTOM_CLASS_BENIGN;
  c->radius = MAX (6.0, rng_range (rng, 25.0, 60.0) * scale);
  c->n_dots = rng_int (rng, 3, MAX_CALCS);
  for (guint k = 0; k < c->n_dots; k++)
    {
      double px, py;

      do
        {
          px = rng_range (rng, -1.0, 1.0);
          py = rng_range (rng, -1.0, 1.0);
        }
      while (px * px + py * py > 1.0);
      c->dot_x[k] = px * c->radius;
      c->dot_y[k] = py * c->radius;
      c->dot_r[k] = rng_range (rng, 1.0, 2.0); /* 2-4 px across, whatever the scale */
      c->dot_peak[k] = rng_range (rng, 880.0, 1023.0);
    }
  c->z_lo = -(gint) rng_int (rng, 0, 1);
  c->z_hi = (gint) rng_int (rng, 0, 1);
  c->extent = c->radius + 3.0;
}

static void
lesion_box (Gen *g, Lesion *les)
{
  int bx0 = G_MAXINT, by0 = G_MAXINT, bx1 = -1, by1 = -1, margin;

  if (les->kind == PICARD_PHANTOM_LESION_MASS)
    {
      /* The core as drawn on the central slice, where it is at full size. */
      int x0 = MAX (0, (int) floor (les->cx - les->extent));
      int x1 = MIN ((int) g->columns - 1, (int) ceil (les->cx + les->extent));
      int y0 = MAX (0, (int) floor (les->cy - les->extent));
      int y1 = MIN ((int) g->rows - 1, (int) ceil (les->cy + les->extent));

      for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
          if (mass_core (les, x, y, 1.0) >= 0.3)
            {
              bx0 = MIN (bx0, x);
              bx1 = MAX (bx1, x);
              by0 = MIN (by0, y);
              by1 = MAX (by1, y);
            }
      margin = (int) MAX (2.0, 0.1 * les->radius);
    }
  else
    {
      for (guint k = 0; k < les->n_dots; k++)
        {
          double r = les->dot_r[k] + 0.5;

          bx0 = MIN (bx0, (int) floor (les->dot_x[k] - r));
          bx1 = MAX (bx1, (int) ceil (les->dot_x[k] + r));
          by0 = MIN (by0, (int) floor (les->dot_y[k] - r));
          by1 = MAX (by1, (int) ceil (les->dot_y[k] + r));
        }
      margin = 2;
    }
  if (bx1 < 0) /* a core too small to reach the threshold: its centre */
    {
      bx0 = bx1 = (int) les->cx;
      by0 = by1 = (int) les->cy;
    }
  les->bx0 = MAX (0, bx0 - margin);
  les->by0 = MAX (0, by0 - margin);
  les->bx1 = MIN ((int) g->columns, bx1 + margin + 1);
  les->by1 = MIN ((int) g->rows, by1 + margin + 1);
}

static gboolean
lesions_draw (Gen *g, GError **error)
{
  const PicardPhantomParams *p = g->params;
  double scale = MIN (g->rows / (double) DEFAULT_ROWS, g->columns / (double) DEFAULT_COLUMNS);
  Rng rng;

  g->n_lesions = p->n_masses + p->n_calcification_clusters;
  g->lesions = g_new0 (Lesion, MAX (g->n_lesions, 1u));
  rng_init (&rng, g->seed, STREAM_LESIONS);
  for (guint i = 0; i < g->n_lesions; i++)
    {
      Lesion *les = &g->lesions[i];
      gboolean placed = FALSE;
      double shrink = 1.0;

      /* A lesion that finds no room is drawn again smaller. */
      for (guint tries = 0; tries < 6 && !placed; tries++, shrink *= 0.8)
        {
          memset (les, 0, sizeof *les);
          if (i < p->n_masses)
            mass_draw (les, &rng, &g->breast, scale, shrink);
          else
            calcs_draw (les, &rng, scale * shrink);
          placed = lesion_place (g, &rng, les, i);
        }
      if (!placed)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "No room for %u lesions in a %u x %u phantom breast: ask for fewer "
                       "lesions or a larger volume", g->n_lesions, g->rows, g->columns);
          return FALSE;
        }
      if (les->kind == PICARD_PHANTOM_LESION_MASS)
        mass_finish (les);
      else
        for (guint k = 0; k < les->n_dots; k++)
          {
            les->dot_x[k] += les->cx;
            les->dot_y[k] += les->cy;
          }
      lesion_box (g, les);
    }
  return TRUE;
}

static void
lesions_prepare_frame (Gen *g, guint frame)
{
  for (guint i = 0; i < g->n_lesions; i++)
    {
      const Lesion *les = &g->lesions[i];
      double dz = (double) frame - les->cz;

      g->lesion_gain[i] = 0.0;
      g->lesion_sgain[i] = 0.0;
      g->lesion_size[i] = 1.0;
      if (les->kind == PICARD_PHANTOM_LESION_MASS)
        {
          double hz = 2.5 * les->sigma_z;
          double gain = det_exp (-dz * dz / (2.0 * les->sigma_z * les->sigma_z));
          double sg = 0.7 * les->sigma_z;

          if (gain < 0.02 || fabs (dz) >= hz)
            continue;
          g->lesion_gain[i] = gain;
          g->lesion_sgain[i] = det_exp (-dz * dz / (2.0 * sg * sg));
          g->lesion_size[i] = sqrt (MAX (0.15, 1.0 - (dz / hz) * (dz / hz)));
        }
      else if (dz >= les->z_lo && dz <= les->z_hi)
        g->lesion_gain[i] = dz == 0.0 ? 1.0 : 0.6;
    }
}

/* ---- UIDs ------------------------------------------------------------------------- */

/* "2.25." and the decimal value of a 128-bit name-based UUID (version 8, RFC 9562). */
static char *
uid_from_hash (guint64 hi, guint64 lo)
{
  guint32 limbs[4];
  char digits[48];
  int n = 0;
  gboolean nonzero = TRUE;

  hi = (hi & ~G_GUINT64_CONSTANT (0xf000)) | G_GUINT64_CONSTANT (0x8000);
  lo = (lo & ~(G_GUINT64_CONSTANT (3) << 62)) | (G_GUINT64_CONSTANT (2) << 62);
  limbs[0] = (guint32) (hi >> 32);
  limbs[1] = (guint32) hi;
  limbs[2] = (guint32) (lo >> 32);
  limbs[3] = (guint32) lo;
  while (nonzero)
    {
      guint64 rem = 0;

      nonzero = FALSE;
      for (int i = 0; i < 4; i++)
        {
          guint64 cur = (rem << 32) | limbs[i];

          limbs[i] = (guint32) (cur / 10);
          rem = cur % 10;
          nonzero |= limbs[i] != 0;
        }
      digits[n++] = (char) ('0' + rem);
    }
  {
    GString *s = g_string_new (PICARD_PHANTOM_UID_ROOT ".");

    while (n > 0)
      g_string_append_c (s, digits[--n]);
    return g_string_free (s, FALSE);
  }
}

static char *
uid_for (guint64 seed, guint64 kind, guint64 detail)
{
  return uid_from_hash (hash4 (seed, STREAM_UID, kind, detail),
                        hash4 (seed, STREAM_UID, kind + 1000, detail));
}

/* ---- Public API ------------------------------------------------------------------- */

void
picard_phantom_params_init (PicardPhantomParams *params)
{
  g_return_if_fail (params != NULL);
  memset (params, 0, sizeof *params);
  params->laterality = PICARD_LATERALITY_UNKNOWN;
}

void
picard_phantom_free (PicardPhantom *phantom)
{
  if (phantom == NULL)
    return;
  g_free (phantom->voxels);
  g_free (phantom->view);
  g_free (phantom->patient_id);
  g_free (phantom->study_instance_uid);
  g_free (phantom->series_instance_uid);
  g_free (phantom->sop_instance_uid);
  g_free (phantom->lesions);
  g_free (phantom);
}

const char *
picard_phantom_view_code (const PicardPhantom *phantom)
{
  gboolean mlo;

  g_return_val_if_fail (phantom != NULL, NULL);
  mlo = g_strcmp0 (phantom->view, "MLO") == 0;
  if (phantom->laterality == PICARD_LATERALITY_RIGHT)
    return mlo ? "rmlo" : "rcc";
  return mlo ? "lmlo" : "lcc";
}

const char *
picard_phantom_class_name (PicardPhantomClass klass)
{
  return klass == PICARD_PHANTOM_CLASS_CANCER ? "cancer" : "benign";
}

guint16 *
picard_phantom_dataset_voxels (const PicardPhantom *phantom)
{
  gsize plane, n;
  guint16 *out;

  g_return_val_if_fail (phantom != NULL, NULL);
  plane = (gsize) phantom->rows * phantom->columns;
  n = plane * phantom->frames;
  if (!phantom->stored_rotated)
    return g_memdup2 (phantom->voxels, n * sizeof (guint16));
  out = g_new (guint16, n);
  for (guint f = 0; f < phantom->frames; f++)
    for (gsize i = 0; i < plane; i++)
      out[f * plane + i] = phantom->voxels[f * plane + plane - 1 - i];
  return out;
}

static void
compute_window (PicardPhantom *ph)
{
  const guint16 *frame = ph->voxels + (gsize) (ph->frames / 2) * ph->rows * ph->columns;
  gsize n = (gsize) ph->rows * ph->columns, total = 0, acc = 0;
  guint64 hist[PICARD_PHANTOM_MAX_VALUE + 1] = { 0 };
  guint lo = 0, hi = PICARD_PHANTOM_MAX_VALUE;

  for (gsize i = 0; i < n; i++)
    if (frame[i] > 0)
      {
        hist[frame[i]]++;
        total++;
      }
  if (total > 0)
    {
      /* The 1st to 99.5th percentile of the tissue. */
      for (lo = 1; lo < PICARD_PHANTOM_MAX_VALUE && (acc += hist[lo]) * 100 < total; lo++)
        ;
      acc = 0;
      for (hi = PICARD_PHANTOM_MAX_VALUE; hi > lo && (acc += hist[hi]) * 200 < total; hi--)
        ;
    }
  ph->window_center = 0.5 * (lo + hi);
  ph->window_width = MAX (1.0, 1.05 * (hi - lo));
}

PicardPhantom *
picard_phantom_generate (const PicardPhantomParams *params, GError **error)
{
  g_autoptr(PicardPhantom) ph = NULL;
  Gen g = { 0 };
  Rng rng;
  FieldGen fields;
  KeyField ring[16];
  guint n_ring = 0;
  gboolean mlo;
  gsize plane, total;
  double scale, outer;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g.params = params;
  g.seed = params->seed;
  g.rows = params->rows ? params->rows : DEFAULT_ROWS;
  g.columns = params->columns ? params->columns : DEFAULT_COLUMNS;
  g.frames = params->frames ? params->frames : DEFAULT_FRAMES;
  if (g.rows < MIN_ROWS || g.columns < MIN_COLUMNS || g.rows > PICARD_VOLUME_MAX_ROWS
      || g.columns > PICARD_VOLUME_MAX_COLUMNS || g.frames > PICARD_VOLUME_MAX_FRAMES)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A phantom of %u rows x %u columns x %u frames is out of range: use "
                   "%u..%u rows, %u..%u columns and 1..%u frames", g.rows, g.columns, g.frames,
                   MIN_ROWS, PICARD_VOLUME_MAX_ROWS, MIN_COLUMNS, PICARD_VOLUME_MAX_COLUMNS,
                   PICARD_VOLUME_MAX_FRAMES);
      return NULL;
    }
  if (params->view != NULL && g_ascii_strcasecmp (params->view, "CC") != 0
      && g_ascii_strcasecmp (params->view, "MLO") != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Unknown phantom view '%s': use CC or MLO", params->view);
      return NULL;
    }
  if (params->n_masses + params->n_calcification_clusters > MAX_LESIONS
      || params->n_masses > MAX_LESIONS)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A phantom holds at most %u lesions; %u masses and %u calcification "
                   "clusters were asked for", MAX_LESIONS, params->n_masses,
                   params->n_calcification_clusters);
      return NULL;
    }
  plane = (gsize) g.rows * g.columns;
  total = plane * g.frames;
  if (total * sizeof (guint16) > MAX_TOTAL_BYTES)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "A phantom of %u x %u x %u would take %" G_GSIZE_FORMAT " MB, more than "
                   "the %" G_GSIZE_FORMAT " MB allowed: ask for a smaller one", g.rows,
                   g.columns, g.frames, total * sizeof (guint16) / (1024 * 1024),
                   MAX_TOTAL_BYTES / (1024 * 1024));
      return NULL;
    }

  ph = g_new0 (PicardPhantom, 1);
  ph->voxels = g_try_new (guint16, total);
  if (ph->voxels == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %u x %u x %u phantom (%" G_GSIZE_FORMAT " MB): "
                   "ask for a smaller one", g.rows, g.columns, g.frames,
                   total * 2 / (1024 * 1024));
      return NULL;
    }
  g.voxels = ph->voxels;
  ph->rows = g.rows;
  ph->columns = g.columns;
  ph->frames = g.frames;
  ph->bits_stored = PICARD_PHANTOM_BITS_STORED;

  /* The draws for laterality and view are made even when given, so the rest of the
   * phantom does not depend on whether they were. */
  rng_init (&rng, g.seed, STREAM_SHAPE);
  ph->laterality = rng_uniform (&rng) < 0.5 ? PICARD_LATERALITY_LEFT : PICARD_LATERALITY_RIGHT;
  mlo = rng_uniform (&rng) < 0.5;
  if (params->laterality == PICARD_LATERALITY_LEFT || params->laterality == PICARD_LATERALITY_RIGHT)
    ph->laterality = params->laterality;
  if (params->view != NULL)
    mlo = g_ascii_strcasecmp (params->view, "MLO") == 0;
  ph->view = g_strdup (mlo ? "MLO" : "CC");
  ph->stored_rotated = params->stored_rotated;
  ph->header_laterality = ph->laterality;
  if (params->wrong_header_laterality)
    ph->header_laterality = ph->laterality == PICARD_LATERALITY_LEFT ? PICARD_LATERALITY_RIGHT
                            : PICARD_LATERALITY_LEFT;
  g.right = ph->laterality == PICARD_LATERALITY_RIGHT;
  g.rotated = params->stored_rotated;
  breast_draw (&g.breast, &rng, g.rows, g.columns, mlo);

  if (!lesions_draw (&g, error))
    {
      g_free (g.lesions);
      return NULL;
    }

  /* Texture: an outer scale of a quarter of the shorter side keeps large patches from
   * swamping the finer structure. */
  scale = MIN (g.rows, g.columns);
  outer = 1.0 / (0.25 * scale);
  {
    Spectrum texture = { TEXTURE_BETA, outer, TEXTURE_STRETCH };
    Spectrum lines = { LIGAMENT_BETA, 1.0 / (0.2 * scale), TEXTURE_STRETCH };

    field_gen_init (&fields, g.seed, g.rows, g.columns, &texture, &lines);
    /* Near a zero crossing the field is about gradient x distance. */
    g.ligament_scale = 1.0 / (fields.grad_rms[1] * g.breast.ligament_width);
  }
  g.row_scratch = g_new (double, (gsize) 3 * g.columns * parallel_n_workers ());
  memset (ring, 0, sizeof ring);

  for (guint f = 0; f < g.frames; f++)
    {
      gint k_lo = (gint) ceil ((f - KEY_REACH) / KEY_SPACING);
      gint k_hi = (gint) floor ((f + KEY_REACH) / KEY_SPACING);
      double wsum = 0.0;

      /* Drop the keys behind, make the ones ahead. */
      for (guint i = 0; i < n_ring;)
        if (ring[i].key < k_lo)
          {
            g_free (ring[i].a);
            g_free (ring[i].b);
            ring[i] = ring[--n_ring];
          }
        else
          i++;
      g.n_keys = 0;
      for (gint k = k_lo; k <= k_hi; k++)
        {
          KeyField *kf = NULL;
          double dz = (double) f - (double) k * KEY_SPACING;

          for (guint i = 0; i < n_ring; i++)
            if (ring[i].key == k)
              kf = &ring[i];
          if (kf == NULL)
            {
              g_assert (n_ring < G_N_ELEMENTS (ring));
              kf = &ring[n_ring++];
              kf->key = k;
              kf->a = g_new (float, plane);
              kf->b = g_new (float, plane);
              field_gen_make (&fields, (guint64) (gint64) k, kf->a, kf->b, NULL);
            }
          g.keys[g.n_keys] = kf;
          g.weights[g.n_keys] = det_exp (-dz * dz / (2.0 * KEY_SIGMA * KEY_SIGMA));
          wsum += g.weights[g.n_keys] * g.weights[g.n_keys];
          g.n_keys++;
        }
      /* Unit variance on every slice. */
      for (guint k = 0; k < g.n_keys; k++)
        g.weights[k] /= sqrt (wsum);

      g.frame = f;
      g.outline = breast_outline (&g.breast, f, g.frames);
      lesions_prepare_frame (&g, f);
      parallel_for (g.rows, 16, compose_rows, &g);
      if (params->progress != NULL)
        params->progress ((f + 1.0) / g.frames, params->progress_data);
    }
  for (guint i = 0; i < n_ring; i++)
    {
      g_free (ring[i].a);
      g_free (ring[i].b);
    }
  field_gen_clear (&fields);
  g_free (g.row_scratch);

  ph->n_lesions = g.n_lesions;
  ph->lesions = g_new0 (PicardPhantomLesion, MAX (g.n_lesions, 1u));
  for (guint i = 0; i < g.n_lesions; i++)
    {
      const Lesion *les = &g.lesions[i];
      PicardPhantomLesion *out = &ph->lesions[i];

      out->kind = les->kind;
      out->klass = les->klass;
      out->width = (guint) (les->bx1 - les->bx0);
      out->height = (guint) (les->by1 - les->by0);
      /* Dataset orientation: a right breast is the canonical one mirrored. */
      out->x = g.right ? g.columns - (guint) les->bx1 : (guint) les->bx0;
      out->y = (guint) les->by0;
      out->slice = les->cz;
      out->volume_slices = g.frames;
    }
  g_free (g.lesions);

  compute_window (ph);
  ph->patient_id = g_strdup_printf ("Phantom-%" G_GUINT64_FORMAT, g.seed);
  ph->study_instance_uid = uid_for (g.seed, 1, 0);
  {
    /* Everything that changes the pixels changes the series and instance. */
    guint64 detail = hash4 ((guint64) g.rows << 32 | g.columns, g.frames,
                            (guint64) mlo << 1 | (guint64) g.right,
                            (guint64) params->n_masses << 32 | params->n_calcification_clusters);

    detail = hash4 (detail, params->stored_rotated, params->wrong_header_laterality, 0);
    ph->series_instance_uid = uid_for (g.seed, 2, detail);
    ph->sop_instance_uid = uid_for (g.seed, 3, detail);
  }
  return g_steal_pointer (&ph);
}
