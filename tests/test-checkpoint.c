/* Checkpoint reading: every value of PyTorch-written files, the architecture checks, finding
 * files in the trainer's folder, and hostile or damaged inputs (which must fail cleanly). */
#include "picard-checkpoint.h"
#include "picard-error.h"
#include "picard-half.h"
#include "picard-pickle.h"
#include "picard-zip.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *fixtures; /* the folder the Python scripts filled */

static char *
fixture (const char *name)
{
  return g_build_filename (fixtures, name, NULL);
}

static GBytes *
read_fixture (const char *name)
{
  g_autofree char *path = fixture (name);
  char *contents;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (contents, len);
}

static PicardCheckpoint *
load_fixture (const char *name)
{
  g_autofree char *path = fixture (name);
  g_autoptr(GError) error = NULL;
  PicardCheckpoint *checkpoint = picard_checkpoint_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (checkpoint);
  return checkpoint;
}

/* Loads @name expecting failure with @code and every one of the NULL-ended phrases. */
static void
assert_load_fails (const char *name, int code, ...)
{
  g_autofree char *path = fixture (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load (path, &error);
  va_list args;
  const char *phrase;

  g_assert_null (checkpoint);
  g_assert_error (error, PICARD_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  va_start (args, code);
  while ((phrase = va_arg (args, const char *)) != NULL)
    if (strstr (error->message, phrase) == NULL)
      g_error ("message \"%s\" lacks \"%s\"", error->message, phrase);
  va_end (args);
}

static void
assert_message (const GError *error, const char *phrase)
{
  g_assert_nonnull (error);
  if (strstr (error->message, phrase) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, phrase);
}

/* ------------------------------------------------------------- values */

static void
test_values (void)
{
  g_autofree char *list_path = fixture ("expected.txt");
  g_autoptr(GBytes) blob = read_fixture ("expected.bin");
  g_autofree char *list = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) picard_checkpoint_free);
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const float *values = g_bytes_get_data (blob, NULL);
  gsize blob_floats = g_bytes_get_size (blob) / sizeof (float);
  guint n_checked = 0;
  GHashTableIter iter;
  gpointer key, value;

  g_assert_true (g_file_get_contents (list_path, &list, NULL, NULL));
  lines = g_strsplit (list, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_auto(GStrv) dims = NULL;
      PicardCheckpoint *checkpoint;
      const PicardTensor *tensor;
      guint64 offset, count;
      guint ndim = 0;

      if (*lines[i] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (fields), ==, 5);
      checkpoint = g_hash_table_lookup (loaded, fields[0]);
      if (checkpoint == NULL)
        {
          checkpoint = load_fixture (fields[0]);
          g_hash_table_insert (loaded, g_strdup (fields[0]), checkpoint);
        }
      g_hash_table_insert (counts, g_strdup (fields[0]),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, fields[0])) + 1));
      tensor = picard_checkpoint_lookup (checkpoint, fields[1]);
      if (tensor == NULL)
        g_error ("%s: tensor %s not found", fields[0], fields[1]);
      dims = g_strsplit (fields[2], ",", -1);
      if (*fields[2] != '\0')
        ndim = g_strv_length (dims);
      g_assert_cmpuint (tensor->ndim, ==, ndim);
      for (guint d = 0; d < ndim; d++)
        g_assert_cmpuint (tensor->shape[d], ==, g_ascii_strtoull (dims[d], NULL, 10));
      for (guint d = ndim; d < PICARD_TENSOR_MAX_DIMS; d++)
        g_assert_cmpuint (tensor->shape[d], ==, 1);
      offset = g_ascii_strtoull (fields[3], NULL, 10);
      count = g_ascii_strtoull (fields[4], NULL, 10);
      g_assert_cmpuint (tensor->n_elements, ==, count);
      g_assert_cmpuint (offset + count, <=, blob_floats);
      /* Exactly the same bits as PyTorch's own float32 conversion. */
      if (count > 0)
        {
          for (gsize k = 0; k < count; k++)
            if (memcmp (&tensor->data[k], &values[offset + k], sizeof (float)) != 0)
              g_error ("%s: %s[%" G_GSIZE_FORMAT "] is %.9g, PyTorch has %.9g", fields[0],
                       fields[1], k, tensor->data[k], values[offset + k]);
        }
      else
        g_assert_null (tensor->data);
      n_checked++;
    }
  /* No file has tensors Python does not know of. */
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpuint (picard_checkpoint_get_n_tensors (g_hash_table_lookup (loaded, key)), ==,
                      GPOINTER_TO_UINT (value));
  g_assert_cmpuint (g_hash_table_size (loaded), >=, 15);
  g_assert_cmpuint (n_checked, >, 500);

  /* Reduced precision is reported as such; "module." is gone; file order is kept. */
  {
    PicardCheckpoint *half = g_hash_table_lookup (loaded, "half.pt");
    PicardCheckpoint *bf16 = g_hash_table_lookup (loaded, "bf16.pt");
    PicardCheckpoint *module = g_hash_table_lookup (loaded, "module.pt");
    PicardCheckpoint *mixed = g_hash_table_lookup (loaded, "mixed.safetensors");

    g_assert_cmpint (picard_checkpoint_get_tensor (half, 0)->source_dtype, ==, PICARD_DTYPE_FLOAT16);
    g_assert_cmpint (picard_checkpoint_get_tensor (bf16, 5)->source_dtype, ==, PICARD_DTYPE_BFLOAT16);
    g_assert_cmpstr (picard_checkpoint_get_tensor (module, 0)->name, ==,
                     "coarse_generator.conv1.conv.weight");
    g_assert_null (picard_checkpoint_lookup (module, "module.coarse_generator.conv1.conv.weight"));
    g_assert_nonnull (picard_checkpoint_lookup (mixed, "a"));
    g_assert_cmpstr (picard_checkpoint_get_tensor (mixed, 2)->name, ==, "c");
    g_assert_cmpint (picard_checkpoint_get_tensor (mixed, 2)->source_dtype, ==, PICARD_DTYPE_BFLOAT16);
  }
}

/* ------------------------------------------------------------- architecture */

static gsize
generator_parameters (guint input_dim, guint cnum, guint first, guint last)
{
  const PicardGeneratorLayer *layers = picard_generator_layers (NULL);
  gsize total = 0;

  for (guint i = first; i < last; i++)
    {
      gsize out = picard_generator_layer_out_channels (&layers[i], input_dim, cnum);
      gsize in = picard_generator_layer_in_channels (&layers[i], input_dim, cnum);
      total += out * in * layers[i].kernel * layers[i].kernel + out;
    }
  return total;
}

static void
test_generator (void)
{
  const struct { const char *file; guint input_dim, cnum; } cases[] = {
    { "cli/gen_00000000.pt", 1, 16 },
    { "rgb/gen_00000250.pt", 3, 8 },
    { "half.pt", 1, 8 },
    { "bf16.pt", 1, 8 },
    { "module.pt", 1, 8 },
    { "gen.safetensors", 1, 8 },
  };
  guint n_layers;
  const PicardGeneratorLayer *layers = picard_generator_layers (&n_layers);

  /* The table gives the SPEC's parameter counts (input_dim 1, c 32). */
  g_assert_cmpuint (n_layers, ==, 42);
  g_assert_cmpuint (generator_parameters (1, 32, 0, 17), ==, 1446337);
  g_assert_cmpuint (generator_parameters (1, 32, 17, 42), ==, 2149825);
  g_assert_cmpuint (generator_parameters (1, 32, 0, 42), ==, 3596162);
  g_assert_cmpstr (layers[9].name, ==, "coarse_generator.conv10_atrous");
  g_assert_cmpuint (layers[9].dilation, ==, 16);
  g_assert_cmpint (layers[32].activation, ==, PICARD_ACTIVATION_RELU);
  g_assert_cmpstr (layers[32].name, ==, "fine_generator.pmconv6");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PicardCheckpoint) checkpoint = load_fixture (cases[i].file);
      g_autoptr(GError) error = NULL;
      guint input_dim = 0, cnum = 0;
      gsize total = 0;

      g_assert_cmpuint (picard_checkpoint_get_n_tensors (checkpoint), ==, 84);
      g_assert_true (picard_checkpoint_validate_generator (checkpoint, &input_dim, &cnum, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (input_dim, ==, cases[i].input_dim);
      g_assert_cmpuint (cnum, ==, cases[i].cnum);
      for (guint t = 0; t < 84; t++)
        total += picard_checkpoint_get_tensor (checkpoint, t)->n_elements;
      g_assert_cmpuint (total, ==, generator_parameters (input_dim, cnum, 0, 42));
      /* A generator is no critic. */
      g_assert_false (picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_LOCAL,
                                                         NULL, NULL, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
    }
}

static void
assert_invalid_generator (const char *file, int code, const char *phrase1, const char *phrase2)
{
  g_autoptr(PicardCheckpoint) checkpoint = load_fixture (file);
  g_autoptr(GError) error = NULL;
  guint input_dim = 99, cnum = 99;

  g_assert_false (picard_checkpoint_validate_generator (checkpoint, &input_dim, &cnum, &error));
  g_assert_error (error, PICARD_ERROR, code);
  assert_message (error, phrase1);
  if (phrase2 != NULL)
    assert_message (error, phrase2);
  g_assert_cmpuint (input_dim, ==, 99);
  g_assert_cmpuint (cnum, ==, 99);
}

static void
test_generator_errors (void)
{
  assert_invalid_generator ("bad-renamed.pt", PICARD_ERROR_NOT_FOUND,
                            "fine_generator.pmconv9.conv.weight is missing", NULL);
  assert_invalid_generator ("bad-missing.pt", PICARD_ERROR_NOT_FOUND,
                            "coarse_generator.conv12.conv.bias is missing", NULL);
  assert_invalid_generator ("bad-misshapen.pt", PICARD_ERROR_CORRUPT,
                            "fine_generator.allconv11.conv.weight has shape 32x32x3x3",
                            "expected 32x64x3x3 (for input_dim 1 and c 8)");
  assert_invalid_generator ("bad-extra.pt", PICARD_ERROR_CORRUPT,
                            "unexpected tensor fine_generator.conv99.conv.weight", NULL);
  assert_invalid_generator ("bad-nan.pt", PICARD_ERROR_CORRUPT,
                            "coarse_generator.conv5.conv.bias", "not finite");
  assert_invalid_generator ("cli/dis_00000000.pt", PICARD_ERROR_NOT_FOUND,
                            "coarse_generator.conv1.conv.weight is missing", "critic");
}

static void
test_critic (void)
{
  const struct { const char *file, *prefix; PicardCriticKind kind; guint input_dim, ndf; } cases[] = {
    { "cli/dis_00000000.pt", "localD.", PICARD_CRITIC_LOCAL, 1, 8 },
    { "cli/dis_00000000.pt", "globalD.", PICARD_CRITIC_GLOBAL, 1, 8 },
    { "rgb/dis_00000250.pt", "localD.", PICARD_CRITIC_LOCAL, 3, 4 },
    { "rgb/dis_00000250.pt", "globalD.", PICARD_CRITIC_GLOBAL, 3, 4 },
    { "param.pt", "", PICARD_CRITIC_LOCAL, 1, 4 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PicardCheckpoint) checkpoint = load_fixture (cases[i].file);
      g_autoptr(GError) error = NULL;
      guint input_dim = 0, ndf = 0;

      g_assert_true (picard_checkpoint_validate_critic (checkpoint, cases[i].prefix, cases[i].kind,
                                                        &input_dim, &ndf, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (input_dim, ==, cases[i].input_dim);
      g_assert_cmpuint (ndf, ==, cases[i].ndf);
    }

  {
    /* The local critic's linear layer does not fit a 256x256 input. */
    g_autoptr(PicardCheckpoint) checkpoint = load_fixture ("cli/dis_00000000.pt");
    g_autoptr(GError) error = NULL;

    g_assert_cmpuint (picard_checkpoint_get_n_tensors (checkpoint), ==, 20);
    g_assert_false (picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_GLOBAL,
                                                       NULL, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    assert_message (error, "localD.linear.weight has shape 1x2048, expected 1x8192");
  }
}

/* ------------------------------------------------------------- files in a folder */

static void
touch (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
}

static void
test_locate (void)
{
  g_autofree char *cli = fixture ("cli");
  g_autofree char *folder = fixture ("runs");
  g_autofree char *empty = fixture ("empty");
  g_autofree char *gen = NULL, *dis = NULL;
  g_autoptr(GError) error = NULL;
  gint64 found = 0;

  g_assert_true (picard_checkpoint_locate (cli, -1, &gen, &dis, &found, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (gen, "cli/gen_00000000.pt"));
  g_assert_true (g_str_has_suffix (dis, "cli/dis_00000000.pt"));
  g_assert_cmpint (found, ==, 0);
  g_clear_pointer (&gen, g_free);
  g_clear_pointer (&dis, g_free);

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  touch (folder, "gen_00000100.pt");
  touch (folder, "dis_00000100.pt");
  touch (folder, "gen_00002000.pt");
  touch (folder, "gen_00002000.safetensors");
  touch (folder, "gen_00000900.safetensors");
  touch (folder, "dis_00000900.safetensors");
  touch (folder, "gen_latest.pt");
  touch (folder, "gen_00009999.pt.tmp");
  touch (folder, "dis_00050000.pt");

  /* The latest generator; it has no critic file. */
  g_assert_true (picard_checkpoint_locate (folder, -1, &gen, &dis, &found, &error));
  g_assert_true (g_str_has_suffix (gen, "runs/gen_00002000.pt"));
  g_assert_null (dis);
  g_assert_cmpint (found, ==, 2000);
  g_clear_pointer (&gen, g_free);

  g_assert_true (picard_checkpoint_locate (folder, 900, &gen, &dis, &found, &error));
  g_assert_true (g_str_has_suffix (gen, "runs/gen_00000900.safetensors"));
  g_assert_true (g_str_has_suffix (dis, "runs/dis_00000900.safetensors"));
  g_clear_pointer (&gen, g_free);
  g_clear_pointer (&dis, g_free);

  g_assert_false (picard_checkpoint_locate (folder, 5, &gen, &dis, &found, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  assert_message (error, "no checkpoint of iteration 5");
  assert_message (error, "from 100 to 2000");
  g_assert_null (gen);
  g_clear_error (&error);

  /* A file: its own critic is found beside it. */
  {
    g_autofree char *file = g_build_filename (folder, "gen_00000100.pt", NULL);

    g_assert_true (picard_checkpoint_locate (file, -1, &gen, &dis, &found, &error));
    g_assert_cmpstr (gen, ==, file);
    g_assert_true (g_str_has_suffix (dis, "runs/dis_00000100.pt"));
    g_assert_cmpint (found, ==, 100);
    g_clear_pointer (&gen, g_free);
    g_clear_pointer (&dis, g_free);
    g_assert_false (picard_checkpoint_locate (file, 7, &gen, &dis, &found, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  {
    g_autofree char *file = fixture ("half.pt");

    g_assert_true (picard_checkpoint_locate (file, -1, &gen, &dis, &found, &error));
    g_assert_null (dis);
    g_assert_cmpint (found, ==, -1);
    g_clear_pointer (&gen, g_free);
  }

  g_assert_cmpint (g_mkdir (empty, 0700), ==, 0);
  touch (empty, "dis_00000001.pt");
  g_assert_false (picard_checkpoint_locate (empty, -1, &gen, &dis, &found, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  assert_message (error, "holds no generator checkpoint");
  g_clear_error (&error);

  {
    g_autofree char *nowhere = fixture ("no-such-folder");

    g_assert_false (picard_checkpoint_locate (nowhere, -1, &gen, &dis, &found, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
    assert_message (error, "does not exist");
    g_clear_error (&error);
    g_assert_null (picard_checkpoint_load (nowhere, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  }
}

/* ------------------------------------------------------------- refused files */

static void
test_code_refused (void)
{
  g_autofree char *marker = fixture ("pwned");

  assert_load_fails ("evil-posix.pt", PICARD_ERROR_NOT_SUPPORTED,
                     "contains code that will not be run", "posix.system", NULL);
  assert_load_fails ("evil-os.pt", PICARD_ERROR_NOT_SUPPORTED,
                     "contains code that will not be run", "os.system", NULL);
  assert_load_fails ("evil-eval.pt", PICARD_ERROR_NOT_SUPPORTED,
                     "contains code that will not be run", "__builtin__.eval", NULL);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

static void
test_unsupported (void)
{
  assert_load_fails ("bad-legacy.pt", PICARD_ERROR_NOT_SUPPORTED, "legacy format", NULL);
  assert_load_fails ("bad-int64.pt", PICARD_ERROR_NOT_SUPPORTED, "torch.LongStorage", NULL);
  assert_load_fails ("bad-tensor.pt", PICARD_ERROR_NOT_SUPPORTED, "not a state_dict", NULL);
  assert_load_fails ("bad-5d.pt", PICARD_ERROR_NOT_SUPPORTED, "tensor x has 5 dimensions", NULL);
  assert_load_fails ("expected.txt", PICARD_ERROR_NOT_SUPPORTED,
                     "neither a PyTorch checkpoint", NULL);
  {
    g_autoptr(GBytes) nothing = g_bytes_new_static ("", 0);
    g_autoptr(GError) error = NULL;

    g_assert_null (picard_checkpoint_load_bytes (nothing, "empty.pt", &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
  }
}

static void
test_truncated (void)
{
  const char *files[] = { "small.pt", "views.pt", "zip64.pt", "deflated.pt", "mixed.safetensors" };

  for (gsize f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autoptr(GBytes) whole = read_fixture (files[f]);
      gsize size = g_bytes_get_size (whole);

      for (gsize cut = 0; cut < size; cut++)
        {
          g_autoptr(GBytes) part = g_bytes_new_from_bytes (whole, 0, cut);
          g_autoptr(GError) error = NULL;
          g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (part, files[f], &error);

          if (checkpoint != NULL)
            g_error ("%s cut at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " loads", files[f], cut, size);
          g_assert_nonnull (error);
          g_assert_true (error->domain == PICARD_ERROR);
        }
    }
}

/* Finds the last occurrence of a 4-byte little-endian signature. */
static gsize
find_signature (const guint8 *data, gsize size, guint32 signature)
{
  for (gsize pos = size - 4 + 1; pos-- > 0;)
    if ((guint32) (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16)
                   | ((guint32) data[pos + 3] << 24)) == signature)
      return pos;
  g_assert_not_reached ();
}

static gsize
find_bytes (const guint8 *data, gsize size, gconstpointer needle, gsize needle_size)
{
  for (gsize pos = 0; pos + needle_size <= size; pos++)
    if (memcmp (data + pos, needle, needle_size) == 0)
      return pos;
  g_assert_not_reached ();
}

static PicardCheckpoint *
load_modified (GBytes *original, gsize at, guint8 value, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (original, &size);
  guint8 *copy = g_memdup2 (data, size);
  g_autoptr(GBytes) bytes = NULL;

  copy[at] = value;
  bytes = g_bytes_new_take (copy, size);
  return picard_checkpoint_load_bytes (bytes, "modified.pt", error);
}

typedef struct {
  gsize at;
  guint8 value;
  int code;
  const char *phrase;
} Corruption;

static void
assert_corruptions_fail (GBytes *original, const Corruption *cases, gsize n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardCheckpoint) checkpoint = load_modified (original, cases[i].at, cases[i].value, &error);

      if (checkpoint != NULL)
        g_error ("case %" G_GSIZE_FORMAT " loads", i);
      if (error->code != cases[i].code)
        g_error ("case %" G_GSIZE_FORMAT ": %s", i, error->message);
      assert_message (error, cases[i].phrase);
    }
}

static guint32
get32 (const guint8 *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);
}

static void
test_corrupted (void)
{
  g_autoptr(GBytes) small = read_fixture ("small.pt");
  g_autoptr(GBytes) plain_zip = read_fixture ("deflated.pt");
  gsize size, plain_size;
  const guint8 *data = g_bytes_get_data (small, &size);
  const guint8 *plain_data = g_bytes_get_data (plain_zip, &plain_size);
  /* Python's zipfile writes a plain end record; torch adds ZIP64 records, which then rule. */
  gsize eocd = find_signature (plain_data, plain_size, 0x06054b50);
  gsize cd = get32 (plain_data + eocd + 16);
  gsize locator = find_signature (data, size, 0x07064b50);
  gsize z64 = find_signature (data, size, 0x06064b50);
  gsize cd64 = get32 (data + z64 + 48);
  const Corruption plain_cases[] = {
    { cd, 'X', PICARD_ERROR_CORRUPT, "bad central directory signature" },
    { eocd + 16, (guint8) (cd + 1), PICARD_ERROR_CORRUPT, "central directory" },
    { eocd + 19, 0x7f, PICARD_ERROR_CORRUPT, "central directory out of bounds" },
    { eocd + 10, 0xff, PICARD_ERROR_CORRUPT, "entry count" },
    { eocd + 20, 1, PICARD_ERROR_CORRUPT, "no end-of-central-directory" },
    { eocd + 4, 1, PICARD_ERROR_NOT_SUPPORTED, "multi-disk" },
    { cd + 10, 12, PICARD_ERROR_NOT_SUPPORTED, "compression method 12" },
    { cd + 8, 1, PICARD_ERROR_NOT_SUPPORTED, "encrypted" },
    { cd + 42, 3, PICARD_ERROR_CORRUPT, "local header" },
    { cd + 46, 'Z', PICARD_ERROR_CORRUPT, "disagrees with the central directory" },
    { cd + 24, 0xff, PICARD_ERROR_CORRUPT, "inflates to a size other than" },
    { 0, 'Q', PICARD_ERROR_NOT_SUPPORTED, "neither" },
  };
  const Corruption zip64_cases[] = {
    { cd64, 'X', PICARD_ERROR_CORRUPT, "bad central directory signature" },
    { z64 + 48, (guint8) (cd64 + 1), PICARD_ERROR_CORRUPT, "central directory" },
    { z64 + 55, 0x7f, PICARD_ERROR_CORRUPT, "central directory out of bounds" },
    { z64 + 32, 0xff, PICARD_ERROR_CORRUPT, "inconsistent ZIP64 entry counts" },
    { z64, 'X', PICARD_ERROR_CORRUPT, "bad ZIP64 end record signature" },
    { locator + 8, 0xff, PICARD_ERROR_CORRUPT, "ZIP64 end record out of bounds" },
    { locator + 4, 1, PICARD_ERROR_CORRUPT, "another disk" },
  };

  assert_corruptions_fail (plain_zip, plain_cases, G_N_ELEMENTS (plain_cases));
  assert_corruptions_fail (small, zip64_cases, G_N_ELEMENTS (zip64_cases));

  /* A changed data byte fails the checksum. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PicardCheckpoint) plain = load_fixture ("small.pt");
    const PicardTensor *a = picard_checkpoint_lookup (plain, "a");
    gsize data_at = find_bytes (data, size, a->data, a->n_elements * sizeof (float)) + 5;
    g_autoptr(PicardCheckpoint) checkpoint = load_modified (small, data_at, data[data_at] ^ 0x55, &error);

    g_assert_null (checkpoint);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    assert_message (error, "checksum");
  }

  /* Any single changed byte anywhere: a clean success or a clean failure. */
  for (gsize at = 0; at < size; at++)
    for (guint value = 0; value < 256; value += 85)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(PicardCheckpoint) checkpoint = load_modified (small, at, (guint8) value, &error);

        g_assert_true ((checkpoint == NULL) != (error == NULL));
        if (checkpoint != NULL)
          g_assert_cmpuint (picard_checkpoint_get_n_tensors (checkpoint), ==, 3);
      }
}

/* ------------------------------------------------------------- crafted archives */

/* A stored zip of NULL-ended (name, data, size) triples, as torch lays it out. */
static GBytes *
make_zip (const char *first_name, ...)
{
  GByteArray *out = g_byte_array_new ();
  GByteArray *central = g_byte_array_new ();
  va_list args;
  const char *name;
  guint n = 0;
  guint32 cd_offset;

#define PUT16(a, v) G_STMT_START { guint16 v_ = GUINT16_TO_LE (v); g_byte_array_append (a, (guint8 *) &v_, 2); } G_STMT_END
#define PUT32(a, v) G_STMT_START { guint32 v_ = GUINT32_TO_LE (v); g_byte_array_append (a, (guint8 *) &v_, 4); } G_STMT_END
  va_start (args, first_name);
  for (name = first_name; name != NULL; name = va_arg (args, const char *))
    {
      const guint8 *data = va_arg (args, const void *);
      gsize size = va_arg (args, gsize);
      guint32 crc = picard_crc32 (0, data, size);
      guint32 offset = out->len;

      PUT32 (out, 0x04034b50); PUT16 (out, 20); PUT16 (out, 0); PUT16 (out, 0);
      PUT32 (out, 0); PUT32 (out, crc); PUT32 (out, size); PUT32 (out, size);
      PUT16 (out, strlen (name)); PUT16 (out, 0);
      g_byte_array_append (out, (const guint8 *) name, strlen (name));
      g_byte_array_append (out, data, size);

      PUT32 (central, 0x02014b50); PUT16 (central, 20); PUT16 (central, 20); PUT16 (central, 0);
      PUT16 (central, 0); PUT32 (central, 0); PUT32 (central, crc); PUT32 (central, size);
      PUT32 (central, size); PUT16 (central, strlen (name)); PUT16 (central, 0);
      PUT16 (central, 0); PUT16 (central, 0); PUT16 (central, 0); PUT32 (central, 0);
      PUT32 (central, offset);
      g_byte_array_append (central, (const guint8 *) name, strlen (name));
      n++;
    }
  va_end (args);
  cd_offset = out->len;
  g_byte_array_append (out, central->data, central->len);
  PUT32 (out, 0x06054b50); PUT16 (out, 0); PUT16 (out, 0); PUT16 (out, n); PUT16 (out, n);
  PUT32 (out, central->len); PUT32 (out, cd_offset); PUT16 (out, 0);
#undef PUT16
#undef PUT32
  g_byte_array_unref (central);
  return g_byte_array_free_to_bytes (out);
}

static const guint8 four_floats[16] = { 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40 };

/* A pickle of {'w': tensor} over storage '0' of @numel floats with the given view. */
static GByteArray *
tensor_pickle (guint8 numel, guint8 offset, guint8 rows, guint8 cols, guint8 row_stride)
{
  GByteArray *p = g_byte_array_new ();
  static const char start[] = "\x80\x02" "ccollections\nOrderedDict\nq\x00)R" "q\x01" "X\x01\x00\x00\x00w"
                      "ctorch._utils\n_rebuild_tensor_v2\nq\x02" "((X\x07\x00\x00\x00storage"
                      "ctorch\nFloatStorage\nq\x03" "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu";
  guint8 tail[] = { 'K', numel, 't', 'Q', 'K', offset, 'K', rows, 'K', cols, 0x86, 'K',
                    row_stride, 'K', 1, 0x86, 0x89, 'h', 0, ')', 'R', 't', 'R', 's', '.' };

  g_byte_array_append (p, (const guint8 *) start, sizeof start - 1);
  g_byte_array_append (p, tail, sizeof tail);
  return p;
}

static PicardCheckpoint *
load_crafted (GByteArray *pickle, const guint8 *storage, gsize storage_size, GError **error)
{
  g_autoptr(GBytes) zip = make_zip ("archive/data.pkl", pickle->data, (gsize) pickle->len,
                                    "archive/data/0", storage, storage_size, NULL);
  return picard_checkpoint_load_bytes (zip, "crafted.pt", error);
}

static void
test_crafted (void)
{
  g_autoptr(GError) error = NULL;

  /* The helper's pickle itself is right: a 2x2 view with row stride 2 -> 1, 2; 3, 4. */
  {
    g_autoptr(GByteArray) p = tensor_pickle (4, 0, 2, 2, 2);
    g_autoptr(PicardCheckpoint) checkpoint = NULL;
    const PicardTensor *w;

    checkpoint = load_crafted (p, four_floats, 16, &error);
    g_assert_no_error (error);
    w = picard_checkpoint_lookup (checkpoint, "w");
    g_assert_nonnull (w);
    g_assert_cmpfloat (w->data[0], ==, 1.0f);
    g_assert_cmpfloat (w->data[3], ==, 4.0f);
  }
  {
    /* Column view with a storage offset: rows of stride 1 from element 1 -> 2, 3, 4 */
    g_autoptr(GByteArray) p = tensor_pickle (4, 1, 3, 1, 1);
    g_autoptr(PicardCheckpoint) checkpoint = load_crafted (p, four_floats, 16, &error);
    const PicardTensor *w = picard_checkpoint_lookup (checkpoint, "w");

    g_assert_no_error (error);
    g_assert_cmpfloat (w->data[0], ==, 2.0f);
    g_assert_cmpfloat (w->data[2], ==, 4.0f);
  }

  /* Views reaching outside the storage. */
  {
    const guint8 views[][4] = { { 1, 2, 2, 2 }, { 0, 3, 1, 2 }, { 0, 2, 2, 3 }, { 4, 1, 1, 0 } };

    for (gsize i = 0; i < G_N_ELEMENTS (views); i++)
      {
        g_autoptr(GByteArray) p = tensor_pickle (4, views[i][0], views[i][1], views[i][2], views[i][3]);
        g_autoptr(PicardCheckpoint) checkpoint = load_crafted (p, four_floats, 16, &error);

        g_assert_null (checkpoint);
        g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
        assert_message (error, "beyond its storage");
        g_clear_error (&error);
      }
  }
  /* A storage whose declared size disagrees with its data, or whose data are missing. */
  {
    g_autoptr(GByteArray) p = tensor_pickle (5, 0, 2, 2, 2);
    g_autoptr(PicardCheckpoint) checkpoint = load_crafted (p, four_floats, 16, &error);

    g_assert_null (checkpoint);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    assert_message (error, "archive/data/0 holds 16 bytes");
    g_clear_error (&error);
  }
  {
    g_autoptr(GByteArray) p = tensor_pickle (4, 0, 2, 2, 2);
    g_autoptr(GBytes) zip = make_zip ("archive/data.pkl", p->data, (gsize) p->len, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    assert_message (error, "lacks archive/data/0");
    g_clear_error (&error);
  }
  /* Pickles that are malformed in ways a fuzzer would find. */
  {
    const struct { const char *bytes; gsize len; const char *phrase; } bad[] = {
      { "\x80\x02}q\x00X\x01\x00\x00\x00" "ah\x00s.", 15, "nest deeper" },   /* d['a'] = d */
      { "\x80\x02s.", 4, "empty stack" },
      { "\x80\x02h\x05.", 5, "memo entry (5)" },
      { "\x80\x02(u.", 5, "SETITEMS without a dict" },
      { "\x80\x02}(K\x01K\x02u.", 10, "not a string" },
      { "\x80\x02}N.", 5, "stops with 2 values" },
      { "\x80\x02X\xff\xff\xff\x7f" "ab.", 10, "past the end" },
      { "\x80\x02X\x02\x00\x00\x00\xc3(.", 10, "UTF-8" },
      { "\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", 32, "arguments" },
      { "\x80\x02" "ctorch\nFloatStorage\n)R.", 25, "storage type is called" },
      { "\x80\x02" "ccollections\nOrderedDict", 26, "no end of line" },
      { "\x80\x02}\x8a\x09" "123456789.", 15, "too large" },
      { "\x80\x02}", 3, "ends early" },
      { "\x80\x06}.", 4, "protocol 6" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GBytes) zip = make_zip ("archive/data.pkl", bad[i].bytes, bad[i].len, NULL);
        g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

        if (checkpoint != NULL)
          g_error ("bad pickle %" G_GSIZE_FORMAT " loads", i);
        assert_message (error, bad[i].phrase);
        g_clear_error (&error);
      }
  }
  /* Unsupported opcodes are named; the list opcode ']' is one. */
  {
    g_autoptr(GBytes) zip = make_zip ("archive/data.pkl", "\x80\x02].", (gsize) 4, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
    assert_message (error, "opcode 0x5d");
    g_clear_error (&error);
  }
  /* No data.pkl, or two of them. */
  {
    g_autoptr(GBytes) zip = make_zip ("a/version", "3\n", (gsize) 2, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    assert_message (error, "without data.pkl");
    g_clear_error (&error);
  }
  {
    g_autoptr(GBytes) zip = make_zip ("a/data.pkl", "\x80\x02}.", (gsize) 4,
                                      "b/data.pkl", "\x80\x02}.", (gsize) 4, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    assert_message (error, "more than one data.pkl");
    g_clear_error (&error);
  }
  /* An empty state_dict has nothing to offer. */
  {
    g_autoptr(GBytes) zip = make_zip ("a/data.pkl", "\x80\x02}.", (gsize) 4, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  /* Duplicate entry names are ambiguous. */
  {
    g_autoptr(GBytes) zip = make_zip ("a/data.pkl", "\x80\x02}.", (gsize) 4,
                                      "a/data.pkl", "\x80\x02}.", (gsize) 4, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load_bytes (zip, "crafted.pt", &error);

    g_assert_null (checkpoint);
    assert_message (error, "duplicate entry name");
    g_clear_error (&error);
  }
}

static void
test_safetensors_errors (void)
{
  const struct { const char *header; const char *phrase; } cases[] = {
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", "lies outside" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "8 bytes for 3 elements" },
    { "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", "only F32, F16 and BF16" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", "expected '\"'" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "lacks dtype" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", "unexpected or repeated" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", "leading zero" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "appears twice" },
    { "{\"__metadata__\":[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", "nested deeper" },
    { "{\"__metadata__\":{\"k\":\"\\ud800\"}}", "unpaired surrogate" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", "after the header" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2,3,4,5],\"data_offsets\":[0,480]}}", "5 dimensions" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize header_len = strlen (cases[i].header);
      g_autoptr(GByteArray) file = g_byte_array_new ();
      guint64 le = GUINT64_TO_LE (header_len);
      guint8 zeros[480] = { 0 };
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardCheckpoint) checkpoint = NULL;

      g_byte_array_append (file, (guint8 *) &le, 8);
      g_byte_array_append (file, (const guint8 *) cases[i].header, header_len);
      g_byte_array_append (file, zeros, i == G_N_ELEMENTS (cases) - 1 ? 480 : 8);
      bytes = g_bytes_new (file->data, file->len);
      checkpoint = picard_checkpoint_load_bytes (bytes, "crafted.safetensors", &error);
      if (checkpoint != NULL)
        g_error ("safetensors case %" G_GSIZE_FORMAT " loads", i);
      assert_message (error, cases[i].phrase);
    }
}

/* ------------------------------------------------------------- small parts */

static void
test_numbers (void)
{
  g_assert_cmpfloat (picard_half_to_float (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (picard_half_to_float (0xc000), ==, -2.0f);
  g_assert_cmpfloat (picard_half_to_float (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (picard_half_to_float (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (picard_half_to_float (0x03ff), ==, ldexpf (1023.0f, -24));
  g_assert_true (signbit (picard_half_to_float (0x8000)) && picard_half_to_float (0x8000) == 0.0f);
  g_assert_true (isinf (picard_half_to_float (0x7c00)) && picard_half_to_float (0x7c00) > 0);
  g_assert_true (isnan (picard_half_to_float (0x7e00)));
  g_assert_cmpfloat (picard_bfloat16_to_float (0x3f80), ==, 1.0f);
  g_assert_cmpfloat (picard_bfloat16_to_float (0xc040), ==, -3.0f);
  g_assert_cmpuint (picard_crc32 (0, (const guint8 *) "123456789", 9), ==, 0xcbf43926u);
}

static void
test_zip (void)
{
  g_autoptr(GBytes) bytes = read_fixture ("deflated.pt");
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardZip) zip = picard_zip_new (bytes, "deflated.pt", &error);
  g_autoptr(GBytes) version = NULL;
  guint index;

  g_assert_no_error (error);
  g_assert_cmpuint (picard_zip_get_n_entries (zip), ==, 5);
  g_assert_true (picard_zip_find (zip, "small/version", &index));
  g_assert_cmpstr (picard_zip_get_entry_name (zip, index), ==, "small/version");
  g_assert_false (picard_zip_find (zip, "small/nothing", NULL));
  version = picard_zip_read (zip, index, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (version, NULL), g_bytes_get_size (version), "3\n", 2);
  g_assert_true (picard_zip_find (zip, "small/data/0", &index));
  g_assert_cmpuint (picard_zip_get_entry_size (zip, index), ==, 48);
}

/* ------------------------------------------------------------- set-up */

static gboolean
run_python (const char *const *args)
{
  g_autoptr(GError) error = NULL;

  if (!picard_test_spawn_python (NULL, args, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* The demo model's local critic was trained on 32x32 holes: its size comes from its linear
 * layer, and only the fixed-size kinds refuse it. */
static void
test_critic_any_size (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "train", "demo-model",
                                            "dis_00002250.pt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load (path, &error);
  guint input_dim = 0, ndf = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (picard_checkpoint_critic_input_size (checkpoint, "localD."), ==, 32);
  g_assert_cmpuint (picard_checkpoint_critic_input_size (checkpoint, "globalD."), ==, 64);
  g_assert_true (picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_ANY_SIZE,
                                                    &input_dim, &ndf, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (input_dim, ==, 1);
  g_assert_cmpuint (ndf, ==, 8);
  g_assert_false (picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_LOCAL,
                                                     NULL, NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_cmpuint (picard_checkpoint_critic_input_size (checkpoint, "nothing."), ==, 0);
}

int
main (int argc, char **argv)
{
  const char *source_dir = g_getenv ("PICARD_SOURCE_DIR");
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *cli_dir = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);
  if (source_dir == NULL)
    g_error ("PICARD_SOURCE_DIR is not set; run this test through meson test");
  fixtures = g_dir_make_tmp ("picard-checkpoint-XXXXXX", &error);
  g_assert_no_error (error);
  script = g_build_filename (source_dir, "tests", "checkpoint-fixtures.py", NULL);
  cli_dir = g_build_filename (fixtures, "cli", NULL);
  {
    const char *cli_args[] = { "-m", "train.picard_model", "--random-checkpoint", cli_dir,
                               "--cnum", "16", "--input-dim", "1", "--ndf", "8", "--seed", "0",
                               NULL };
    const char *fixture_args[] = { script, fixtures, NULL };

    if (!run_python (cli_args) || !run_python (fixture_args))
      {
        picard_test_remove_tree (fixtures);
        return 1;
      }
  }

  g_test_add_func ("/checkpoint/values", test_values);
  g_test_add_func ("/checkpoint/generator", test_generator);
  g_test_add_func ("/checkpoint/generator-errors", test_generator_errors);
  g_test_add_func ("/checkpoint/critic", test_critic);
  g_test_add_func ("/checkpoint/locate", test_locate);
  g_test_add_func ("/checkpoint/critic-any-size", test_critic_any_size);
  g_test_add_func ("/checkpoint/code-refused", test_code_refused);
  g_test_add_func ("/checkpoint/unsupported", test_unsupported);
  g_test_add_func ("/checkpoint/truncated", test_truncated);
  g_test_add_func ("/checkpoint/corrupted", test_corrupted);
  g_test_add_func ("/checkpoint/crafted", test_crafted);
  g_test_add_func ("/checkpoint/safetensors-errors", test_safetensors_errors);
  g_test_add_func ("/checkpoint/numbers", test_numbers);
  g_test_add_func ("/checkpoint/zip", test_zip);
  result = g_test_run ();
  picard_test_remove_tree (fixtures);
  g_free (fixtures);
  return result;
}
