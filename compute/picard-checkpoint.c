/* picard-checkpoint.c: loading PICARD's weights from PyTorch zip or safetensors files. */
#include "picard-checkpoint.h"

#include "picard-error.h"
#include "picard-half.h"
#include "picard-pickle.h"
#include "picard-safetensors.h"
#include "picard-zip.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct _PicardCheckpoint {
  char *source;
  GPtrArray *tensors;   /* PicardTensor *, in file order */
  GHashTable *by_name;  /* name -> PicardTensor * */
};

/* ---------------------------------------------------------------- numbers */

static gsize
element_size (PicardStorageType type)
{
  return type == PICARD_STORAGE_FLOAT32 ? 4 : 2;
}

static PicardDType
dtype_of (PicardStorageType type)
{
  switch (type)
    {
    case PICARD_STORAGE_FLOAT32: return PICARD_DTYPE_FLOAT32;
    case PICARD_STORAGE_FLOAT16: return PICARD_DTYPE_FLOAT16;
    case PICARD_STORAGE_BFLOAT16: return PICARD_DTYPE_BFLOAT16;
    }
  g_return_val_if_reached (PICARD_DTYPE_FLOAT32);
}

/* Element @index of a raw storage, in the file's byte order. */
static float
read_element (const guint8 *raw, PicardStorageType type, gsize index, gboolean big_endian)
{
  gsize size = element_size (type);
  const guint8 *p = raw + index * size;
  guint32 bits = 0;

  for (gsize i = 0; i < size; i++)
    bits |= (guint32) p[big_endian ? size - 1 - i : i] << (8 * i);
  if (type == PICARD_STORAGE_FLOAT32)
    {
      float value;
      memcpy (&value, &bits, sizeof value);
      return value;
    }
  if (type == PICARD_STORAGE_FLOAT16)
    return picard_half_to_float ((guint16) bits);
  return picard_bfloat16_to_float ((guint16) bits);
}

/* ---------------------------------------------------------------- the tensor dict */

static void
tensor_free (gpointer data)
{
  PicardTensor *tensor = data;

  g_free (tensor->name);
  g_free (tensor->data);
  g_free (tensor);
}

static PicardCheckpoint *
checkpoint_new (const char *source)
{
  PicardCheckpoint *checkpoint = g_new0 (PicardCheckpoint, 1);

  checkpoint->source = g_strdup (source);
  checkpoint->tensors = g_ptr_array_new_with_free_func (tensor_free);
  checkpoint->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return checkpoint;
}

void
picard_checkpoint_free (PicardCheckpoint *checkpoint)
{
  if (checkpoint == NULL)
    return;
  g_hash_table_destroy (checkpoint->by_name);
  g_ptr_array_unref (checkpoint->tensors);
  g_free (checkpoint->source);
  g_free (checkpoint);
}

/* The name a tensor gets: nested keys joined by '.', "module." (nn.DataParallel) dropped. */
static char *
join_name (const char *prefix, const char *key)
{
  if (g_str_has_prefix (key, "module."))
    key += strlen ("module.");
  return g_strconcat (prefix, key, NULL);
}

/* Copies a strided view of @raw (@storage_numel elements) into a new tensor, checking that
 * every element it addresses lies inside the storage. */
static PicardTensor *
materialise (const PicardCheckpoint *checkpoint, const char *name, PicardStorageType type,
             const guint8 *raw, guint64 storage_numel, guint64 offset, guint ndim,
             const gint64 *shape, const gint64 *stride, gboolean big_endian, GError **error)
{
  g_autoptr(GString) shape_text = g_string_new (NULL);
  PicardTensor *tensor;
  guint64 count = 1, last = offset;
  gsize index[PICARD_TENSOR_MAX_DIMS] = { 0 };

  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (shape_text, "%s%" G_GINT64_FORMAT, i ? "x" : "", shape[i]);
  if (ndim > PICARD_TENSOR_MAX_DIMS)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: tensor %s has %u dimensions (%s); at most %d are supported",
                   checkpoint->source, name, ndim, shape_text->str, PICARD_TENSOR_MAX_DIMS);
      return NULL;
    }
  for (guint i = 0; i < ndim; i++)
    {
      if (shape[i] < 0
          || (shape[i] != 0 && count > PICARD_TENSOR_MAX_ELEMENTS / (guint64) shape[i]))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                       "%s: tensor %s (%s) is larger than the %" G_GSIZE_FORMAT
                       " elements a tensor may have", checkpoint->source, name,
                       shape_text->str, PICARD_TENSOR_MAX_ELEMENTS);
          return NULL;
        }
      count *= (guint64) shape[i];
    }
  if (count > 0)
    for (guint i = 0; i < ndim; i++)
      {
        guint64 span;

        if (stride[i] < 0
            || !g_uint64_checked_mul (&span, (guint64) (shape[i] - 1), (guint64) stride[i])
            || !g_uint64_checked_add (&last, last, span))
          last = G_MAXUINT64;
      }
  if (count > 0 && last >= storage_numel)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor %s (%s) reaches beyond its storage of %" G_GUINT64_FORMAT
                   " elements; the file is damaged", checkpoint->source, name, shape_text->str,
                   storage_numel);
      return NULL;
    }

  tensor = g_new0 (PicardTensor, 1);
  tensor->name = g_strdup (name);
  tensor->ndim = ndim;
  tensor->n_elements = (gsize) count;
  tensor->source_dtype = dtype_of (type);
  for (guint i = 0; i < PICARD_TENSOR_MAX_DIMS; i++)
    tensor->shape[i] = i < ndim ? (gsize) shape[i] : 1;
  if (count == 0)
    return tensor;
  tensor->data = g_new (float, count);
  /* Walk the view in row-major order, an odometer over the indices. */
  for (gsize out = 0; out < count; out++)
    {
      guint64 at = offset;

      for (guint i = 0; i < ndim; i++)
        at += index[i] * (guint64) stride[i];
      tensor->data[out] = read_element (raw, type, (gsize) at, big_endian);
      for (guint i = ndim; i-- > 0;)
        {
          if (++index[i] < (gsize) shape[i])
            break;
          index[i] = 0;
        }
    }
  return tensor;
}

static gboolean
checkpoint_add (PicardCheckpoint *checkpoint, PicardTensor *tensor, GError **error)
{
  if (g_hash_table_contains (checkpoint->by_name, tensor->name))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor %s appears twice (once with a \"module.\" prefix?); the "
                   "checkpoint is ambiguous", checkpoint->source, tensor->name);
      tensor_free (tensor);
      return FALSE;
    }
  g_ptr_array_add (checkpoint->tensors, tensor);
  g_hash_table_insert (checkpoint->by_name, tensor->name, tensor);
  return TRUE;
}

/* ---------------------------------------------------------------- PyTorch zip files */

typedef struct {
  PicardCheckpoint *checkpoint;
  PicardZip *zip;
  char *prefix;          /* "archive/" */
  gboolean big_endian;
  GHashTable *storages;  /* key -> GBytes */
} TorchReader;

static GBytes *
storage_bytes (TorchReader *reader, const PicardPickleValue *storage, GError **error)
{
  GBytes *bytes = g_hash_table_lookup (reader->storages, storage->storage.key);
  g_autofree char *entry_name = NULL;
  guint index;
  guint64 wanted;

  if (bytes != NULL)
    return bytes;
  entry_name = g_strconcat (reader->prefix, "data/", storage->storage.key, NULL);
  if (!picard_zip_find (reader->zip, entry_name, &index))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the archive lacks %s, the data of a tensor; the file is incomplete",
                   reader->checkpoint->source, entry_name);
      return NULL;
    }
  if (!g_uint64_checked_mul (&wanted, (guint64) storage->storage.numel,
                             element_size (storage->storage.type))
      || picard_zip_get_entry_size (reader->zip, index) != wanted)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: %s holds %" G_GUINT64_FORMAT " bytes, not the %" G_GINT64_FORMAT
                   " elements its tensor's storage declares; the file is damaged",
                   reader->checkpoint->source, entry_name,
                   picard_zip_get_entry_size (reader->zip, index), storage->storage.numel);
      return NULL;
    }
  bytes = picard_zip_read (reader->zip, index, error);
  if (bytes == NULL)
    return NULL;
  g_hash_table_insert (reader->storages, g_strdup (storage->storage.key), bytes);
  return bytes;
}

static gboolean
add_torch_tensor (TorchReader *reader, const char *name, const PicardPickleValue *value,
                  GError **error)
{
  const PicardPickleValue *storage = value->tensor.storage;
  GBytes *bytes = storage_bytes (reader, storage, error);
  PicardTensor *tensor;

  if (bytes == NULL)
    return FALSE;
  tensor = materialise (reader->checkpoint, name, storage->storage.type,
                        g_bytes_get_data (bytes, NULL), (guint64) storage->storage.numel,
                        (guint64) value->tensor.offset, value->tensor.ndim, value->tensor.shape,
                        value->tensor.stride, reader->big_endian, error);
  return tensor != NULL && checkpoint_add (reader->checkpoint, tensor, error);
}

/* Every tensor of a dict and of the dicts inside it; other values (ints, strings) are not
 * weights and are passed over. */
static gboolean
flatten (TorchReader *reader, const PicardPickleValue *dict, const char *prefix, guint depth,
         GError **error)
{
  if (depth > PICARD_CHECKPOINT_MAX_NESTING)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: dicts nest deeper than %d levels; this is not a state_dict",
                   reader->checkpoint->source, PICARD_CHECKPOINT_MAX_NESTING);
      return FALSE;
    }
  for (guint i = 0; i < dict->dict.keys->len; i++)
    {
      const PicardPickleValue *key = dict->dict.keys->pdata[i];
      const PicardPickleValue *value = dict->dict.values->pdata[i];
      g_autofree char *name = join_name (prefix, key->string.str);

      if (value->type == PICARD_PICKLE_TENSOR)
        {
          if (!add_torch_tensor (reader, name, value, error))
            return FALSE;
        }
      else if (value->type == PICARD_PICKLE_DICT)
        {
          g_autofree char *nested = g_strconcat (name, ".", NULL);
          if (!flatten (reader, value, nested, depth + 1, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* The folder of data.pkl: torch names it after the file ("archive/" since 1.13ish). */
static char *
find_pickle_prefix (const PicardCheckpoint *checkpoint, const PicardZip *zip, GError **error)
{
  char *prefix = NULL;

  for (guint i = 0; i < picard_zip_get_n_entries (zip); i++)
    {
      const char *name = picard_zip_get_entry_name (zip, i);
      const char *slash = strchr (name, '/');

      if (slash == NULL || slash == name || strcmp (slash + 1, "data.pkl") != 0)
        continue;
      if (prefix != NULL)
        {
          g_free (prefix);
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: the archive holds more than one data.pkl; it is not a single "
                       "checkpoint", checkpoint->source);
          return NULL;
        }
      prefix = g_strndup (name, (gsize) (slash - name) + 1);
    }
  if (prefix == NULL)
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                 "%s: a zip archive without data.pkl is not a PyTorch checkpoint",
                 checkpoint->source);
  return prefix;
}

static gboolean
load_torch_zip (PicardCheckpoint *checkpoint, GBytes *data, GError **error)
{
  TorchReader reader = { 0 };
  g_autoptr(PicardZip) zip = NULL;
  g_autoptr(GBytes) pkl = NULL;
  g_autoptr(PicardPickle) pickle = NULL;
  g_autofree char *pkl_name = NULL;
  g_autofree char *order_name = NULL;
  const PicardPickleValue *root;
  const guint8 *pkl_data;
  gsize pkl_size;
  guint index;
  gboolean ok;

  zip = picard_zip_new (data, checkpoint->source, error);
  if (zip == NULL)
    return FALSE;
  reader.checkpoint = checkpoint;
  reader.zip = zip;
  reader.prefix = find_pickle_prefix (checkpoint, zip, error);
  if (reader.prefix == NULL)
    return FALSE;

  /* Absent in files of PyTorch before 2.1, which wrote the machine's order: little. */
  order_name = g_strconcat (reader.prefix, "byteorder", NULL);
  if (picard_zip_find (zip, order_name, &index))
    {
      g_autoptr(GBytes) order = picard_zip_read (zip, index, error);
      const char *text;
      gsize len;

      if (order == NULL)
        goto fail;
      text = g_bytes_get_data (order, &len);
      if (len == 3 && memcmp (text, "big", 3) == 0)
        reader.big_endian = TRUE;
      else if (!(len == 6 && memcmp (text, "little", 6) == 0))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: %s is neither \"little\" nor \"big\"", checkpoint->source, order_name);
          goto fail;
        }
    }

  pkl_name = g_strconcat (reader.prefix, "data.pkl", NULL);
  if (!picard_zip_find (zip, pkl_name, &index))
    g_return_val_if_reached (FALSE);
  pkl = picard_zip_read (zip, index, error);
  if (pkl == NULL)
    goto fail;
  pkl_data = g_bytes_get_data (pkl, &pkl_size);
  pickle = picard_pickle_load (pkl_data, pkl_size, checkpoint->source, error);
  if (pickle == NULL)
    goto fail;
  root = picard_pickle_get_root (pickle);
  if (root->type != PICARD_PICKLE_DICT)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: the checkpoint holds a %s, not a state_dict; save model.state_dict()",
                   checkpoint->source, picard_pickle_type_name (root->type));
      goto fail;
    }
  reader.storages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_bytes_unref);
  ok = flatten (&reader, root, "", 0, error);
  g_hash_table_destroy (reader.storages);
  g_free (reader.prefix);
  return ok;

fail:
  g_free (reader.prefix);
  return FALSE;
}

/* ---------------------------------------------------------------- safetensors */

static gboolean
load_safetensors (PicardCheckpoint *checkpoint, GBytes *data, GError **error)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  g_autoptr(GPtrArray) entries = picard_safetensors_parse (bytes, size, checkpoint->source, error);

  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      const PicardSafetensorsEntry *entry = entries->pdata[i];
      gint64 stride[PICARD_PICKLE_MAX_DIMS];
      guint64 step = 1; /* cannot overflow for a non-empty tensor, which fits in the file */
      g_autofree char *name = join_name ("", entry->name);
      PicardTensor *tensor;

      /* Safetensors data are contiguous, row-major. */
      for (guint k = entry->ndim; k-- > 0;)
        {
          stride[k] = (gint64) step;
          step *= (guint64) entry->shape[k];
        }
      tensor = materialise (checkpoint, name, entry->type, bytes + entry->offset,
                            entry->size / element_size (entry->type), 0, entry->ndim,
                            entry->shape, stride, FALSE, error);
      if (tensor == NULL || !checkpoint_add (checkpoint, tensor, error))
        return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- entry points */

PicardCheckpoint *
picard_checkpoint_load_bytes (GBytes *data, const char *display_name, GError **error)
{
  g_autoptr(PicardCheckpoint) checkpoint = NULL;
  const guint8 *bytes;
  gsize size;
  gboolean ok;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  checkpoint = checkpoint_new (display_name != NULL ? display_name : "checkpoint");
  bytes = g_bytes_get_data (data, &size);
  if (size >= 4 && memcmp (bytes, "PK\003\004", 4) == 0)
    ok = load_torch_zip (checkpoint, data, error);
  else if (picard_safetensors_sniff (bytes, size))
    ok = load_safetensors (checkpoint, data, error);
  else if (size >= 2 && bytes[0] == 0x80 && bytes[1] <= 5)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: a checkpoint in PyTorch's legacy format (before 1.6) is not supported; "
                   "load it in Python and save it again with torch.save", checkpoint->source);
      ok = FALSE;
    }
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: neither a PyTorch checkpoint (zip) nor a safetensors file",
                   checkpoint->source);
      ok = FALSE;
    }
  if (!ok)
    return NULL;
  if (checkpoint->tensors->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: the checkpoint holds no tensors", checkpoint->source);
      return NULL;
    }
  return g_steal_pointer (&checkpoint);
}

PicardCheckpoint *
picard_checkpoint_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, PICARD_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                   ? PICARD_ERROR_NOT_FOUND : PICARD_ERROR_IO,
                   "cannot read checkpoint %s: %s", path, local_error->message);
      g_error_free (local_error);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  return picard_checkpoint_load_bytes (bytes, path, error);
}

const char *
picard_checkpoint_get_source (const PicardCheckpoint *checkpoint)
{
  g_return_val_if_fail (checkpoint != NULL, NULL);
  return checkpoint->source;
}

guint
picard_checkpoint_get_n_tensors (const PicardCheckpoint *checkpoint)
{
  g_return_val_if_fail (checkpoint != NULL, 0);
  return checkpoint->tensors->len;
}

const PicardTensor *
picard_checkpoint_get_tensor (const PicardCheckpoint *checkpoint, guint index)
{
  g_return_val_if_fail (checkpoint != NULL && index < checkpoint->tensors->len, NULL);
  return checkpoint->tensors->pdata[index];
}

const PicardTensor *
picard_checkpoint_lookup (const PicardCheckpoint *checkpoint, const char *name)
{
  g_return_val_if_fail (checkpoint != NULL && name != NULL, NULL);
  return g_hash_table_lookup (checkpoint->by_name, name);
}

/* ---------------------------------------------------------------- finding files */

/* Parses "<kind>_<digits>.pt" or ".safetensors"; *digits points into @name. */
static gboolean
parse_checkpoint_name (const char *name, const char *kind, gint64 *iteration,
                       const char **digits, gsize *n_digits, const char **extension)
{
  gsize kind_len = strlen (kind);
  const char *p;
  guint64 value = 0;

  if (strncmp (name, kind, kind_len) != 0 || name[kind_len] != '_')
    return FALSE;
  p = name + kind_len + 1;
  *digits = p;
  while (g_ascii_isdigit (*p))
    {
      if (p - *digits >= 18)
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
      p++;
    }
  if (p == *digits || (strcmp (p, ".pt") != 0 && strcmp (p, ".safetensors") != 0))
    return FALSE;
  *n_digits = (gsize) (p - *digits);
  *extension = p;
  *iteration = (gint64) value;
  return TRUE;
}

/* The critic file that goes with a generator file, or NULL. */
static char *
find_dis (const char *folder, const char *digits, gsize n_digits, const char *extension)
{
  const char *extensions[] = { extension, ".pt", ".safetensors" };

  for (gsize i = 0; i < G_N_ELEMENTS (extensions); i++)
    {
      g_autofree char *base = g_strdup_printf ("dis_%.*s%s", (int) n_digits, digits, extensions[i]);
      g_autofree char *path = g_build_filename (folder, base, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  return NULL;
}

gboolean
picard_checkpoint_locate (const char *path, gint64 iteration, char **gen_path, char **dis_path,
                          gint64 *found_iteration, GError **error)
{
  g_autofree char *best = NULL;
  gint64 best_iteration = -1, lowest = -1, highest = -1;
  const char *digits, *extension, *name;
  gsize n_digits;
  gint64 number;
  g_autoptr(GDir) dir = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (path != NULL && gen_path != NULL && dis_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *gen_path = *dis_path = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "checkpoint %s does not exist; give a gen_NNNNNNNN.pt file or the folder "
                   "the trainer wrote its checkpoints to", path);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *folder = g_path_get_dirname (path);

      number = -1;
      if (parse_checkpoint_name (base, "gen", &number, &digits, &n_digits, &extension))
        *dis_path = find_dis (folder, digits, n_digits, extension);
      else
        number = -1;
      if (iteration >= 0 && number != iteration)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "checkpoint %s is not of iteration %" G_GINT64_FORMAT "; give its folder "
                       "to choose an iteration", path, iteration);
          g_clear_pointer (dis_path, g_free);
          return FALSE;
        }
      *gen_path = g_strdup (path);
      if (found_iteration != NULL)
        *found_iteration = number;
      return TRUE;
    }

  dir = g_dir_open (path, 0, &local_error);
  if (dir == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "cannot list checkpoint folder %s: %s",
                   path, local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!parse_checkpoint_name (name, "gen", &number, &digits, &n_digits, &extension))
        continue;
      lowest = lowest < 0 ? number : MIN (lowest, number);
      highest = MAX (highest, number);
      if (iteration >= 0 ? number != iteration : number < best_iteration)
        continue;
      /* For one iteration, .pt wins over .safetensors; the same choice whatever the order. */
      if (best != NULL && number == best_iteration
          && (g_str_has_suffix (best, ".pt") || strcmp (name, best) > 0))
        continue;
      g_free (best);
      best = g_strdup (name);
      best_iteration = number;
    }
  if (best == NULL)
    {
      if (highest < 0)
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                     "folder %s holds no generator checkpoint (gen_NNNNNNNN.pt); give the "
                     "folder the trainer wrote its checkpoints to, or a checkpoint file", path);
      else
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                     "folder %s has no checkpoint of iteration %" G_GINT64_FORMAT "; its "
                     "iterations run from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                     path, iteration, lowest, highest);
      return FALSE;
    }
  if (!parse_checkpoint_name (best, "gen", &number, &digits, &n_digits, &extension))
    g_return_val_if_reached (FALSE);
  *gen_path = g_build_filename (path, best, NULL);
  *dis_path = find_dis (path, digits, n_digits, extension);
  if (found_iteration != NULL)
    *found_iteration = best_iteration;
  return TRUE;
}

/* ---------------------------------------------------------------- validation */

#define L(name, k, s, d, act, ih, id, ie, oh, od) \
  { name, k, s, d, PICARD_ACTIVATION_##act, ih, id, ie, oh, od }

/* Channels in halves of c: 2 = c, 4 = 2c, 8 = 4c, 16 = 8c, 1 = c/2. */
static const PicardGeneratorLayer generator_layers[PICARD_GENERATOR_N_LAYERS] = {
  L ("coarse_generator.conv1", 5, 1, 1, ELU, 0, 1, 2, 2, 0),
  L ("coarse_generator.conv2_downsample", 3, 2, 1, ELU, 2, 0, 0, 4, 0),
  L ("coarse_generator.conv3", 3, 1, 1, ELU, 4, 0, 0, 4, 0),
  L ("coarse_generator.conv4_downsample", 3, 2, 1, ELU, 4, 0, 0, 8, 0),
  L ("coarse_generator.conv5", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv6", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv7_atrous", 3, 1, 2, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv8_atrous", 3, 1, 4, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv9_atrous", 3, 1, 8, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv10_atrous", 3, 1, 16, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv11", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv12", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("coarse_generator.conv13", 3, 1, 1, ELU, 8, 0, 0, 4, 0),
  L ("coarse_generator.conv14", 3, 1, 1, ELU, 4, 0, 0, 4, 0),
  L ("coarse_generator.conv15", 3, 1, 1, ELU, 4, 0, 0, 2, 0),
  L ("coarse_generator.conv16", 3, 1, 1, ELU, 2, 0, 0, 1, 0),
  L ("coarse_generator.conv17", 3, 1, 1, NONE, 1, 0, 0, 0, 1),
  L ("fine_generator.conv1", 5, 1, 1, ELU, 0, 1, 2, 2, 0),
  L ("fine_generator.conv2_downsample", 3, 2, 1, ELU, 2, 0, 0, 2, 0),
  L ("fine_generator.conv3", 3, 1, 1, ELU, 2, 0, 0, 4, 0),
  L ("fine_generator.conv4_downsample", 3, 2, 1, ELU, 4, 0, 0, 4, 0),
  L ("fine_generator.conv5", 3, 1, 1, ELU, 4, 0, 0, 8, 0),
  L ("fine_generator.conv6", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.conv7_atrous", 3, 1, 2, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.conv8_atrous", 3, 1, 4, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.conv9_atrous", 3, 1, 8, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.conv10_atrous", 3, 1, 16, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.pmconv1", 5, 1, 1, ELU, 0, 1, 2, 2, 0),
  L ("fine_generator.pmconv2_downsample", 3, 2, 1, ELU, 2, 0, 0, 2, 0),
  L ("fine_generator.pmconv3", 3, 1, 1, ELU, 2, 0, 0, 4, 0),
  L ("fine_generator.pmconv4_downsample", 3, 2, 1, ELU, 4, 0, 0, 8, 0),
  L ("fine_generator.pmconv5", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.pmconv6", 3, 1, 1, RELU, 8, 0, 0, 8, 0),
  L ("fine_generator.pmconv9", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.pmconv10", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.allconv11", 3, 1, 1, ELU, 16, 0, 0, 8, 0),
  L ("fine_generator.allconv12", 3, 1, 1, ELU, 8, 0, 0, 8, 0),
  L ("fine_generator.allconv13", 3, 1, 1, ELU, 8, 0, 0, 4, 0),
  L ("fine_generator.allconv14", 3, 1, 1, ELU, 4, 0, 0, 4, 0),
  L ("fine_generator.allconv15", 3, 1, 1, ELU, 4, 0, 0, 2, 0),
  L ("fine_generator.allconv16", 3, 1, 1, ELU, 2, 0, 0, 1, 0),
  L ("fine_generator.allconv17", 3, 1, 1, NONE, 1, 0, 0, 0, 1),
};

#undef L

const PicardGeneratorLayer *
picard_generator_layers (guint *n_layers)
{
  if (n_layers != NULL)
    *n_layers = G_N_ELEMENTS (generator_layers);
  return generator_layers;
}

guint
picard_generator_layer_in_channels (const PicardGeneratorLayer *layer, guint input_dim,
                                    guint cnum)
{
  g_return_val_if_fail (layer != NULL, 0);
  return layer->in_halves * cnum / 2 + layer->in_dims * input_dim + layer->in_extra;
}

guint
picard_generator_layer_out_channels (const PicardGeneratorLayer *layer, guint input_dim,
                                     guint cnum)
{
  g_return_val_if_fail (layer != NULL, 0);
  return layer->out_halves * cnum / 2 + layer->out_dims * input_dim;
}

static char *
shape_string (guint ndim, const gsize *shape)
{
  GString *text = g_string_new (NULL);

  if (ndim == 0)
    g_string_append (text, "a scalar");
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (text, "%s%" G_GSIZE_FORMAT, i ? "x" : "", shape[i]);
  return g_string_free (text, FALSE);
}

/* Checks one tensor's presence, shape and values. */
static gboolean
check_tensor (const PicardCheckpoint *checkpoint, const char *name, guint ndim,
              const gsize *shape, const char *what, const char *context, GError **error)
{
  const PicardTensor *tensor = picard_checkpoint_lookup (checkpoint, name);
  gboolean same;

  if (tensor == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: tensor %s is missing; this is not a complete %s checkpoint",
                   checkpoint->source, name, what);
      return FALSE;
    }
  same = tensor->ndim == ndim;
  for (guint i = 0; same && i < ndim; i++)
    same = tensor->shape[i] == shape[i];
  if (!same)
    {
      g_autofree char *have = shape_string (tensor->ndim, tensor->shape);
      g_autofree char *want = shape_string (ndim, shape);

      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor %s has shape %s, expected %s (%s); the checkpoint is not a "
                   "%s of that size", checkpoint->source, name, have, want, context, what);
      return FALSE;
    }
  for (gsize i = 0; i < tensor->n_elements; i++)
    if (!isfinite (tensor->data[i]))
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                     "%s: tensor %s holds values that are not finite (element %" G_GSIZE_FORMAT
                     "); the training diverged, choose an earlier checkpoint",
                     checkpoint->source, name, i);
        return FALSE;
      }
  return TRUE;
}

/* Fails on the first tensor under @prefix that is not in @expected. */
static gboolean
check_no_extra (const PicardCheckpoint *checkpoint, const char *prefix, GHashTable *expected,
                const char *what, GError **error)
{
  for (guint i = 0; i < checkpoint->tensors->len; i++)
    {
      const PicardTensor *tensor = checkpoint->tensors->pdata[i];

      if (g_str_has_prefix (tensor->name, prefix)
          && !g_hash_table_contains (expected, tensor->name))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: unexpected tensor %s; this is not PICARD's %s (another "
                       "architecture?)", checkpoint->source, tensor->name, what);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
picard_checkpoint_validate_generator (const PicardCheckpoint *checkpoint, guint *input_dim,
                                      guint *cnum, GError **error)
{
  const char *what = "PICARD generator (gen_*.pt)";
  const PicardTensor *first;
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *context = NULL;
  guint c, dim;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* c and input_dim follow from the first layer: c x (input_dim + 2) x 5 x 5. */
  first = picard_checkpoint_lookup (checkpoint, "coarse_generator.conv1.conv.weight");
  if (first == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: tensor coarse_generator.conv1.conv.weight is missing; this is not a %s "
                   "checkpoint (a critic's dis_*.pt?)", checkpoint->source, what);
      return FALSE;
    }
  if (first->ndim != 4 || first->shape[0] < 2 || first->shape[0] % 2 != 0
      || first->shape[0] > 4096 || first->shape[1] < 3 || first->shape[1] > 4096
      || first->shape[2] != 5 || first->shape[3] != 5)
    {
      g_autofree char *have = shape_string (first->ndim, first->shape);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor coarse_generator.conv1.conv.weight has shape %s, expected "
                   "c x (input_dim + 2) x 5 x 5 with an even c", checkpoint->source, have);
      return FALSE;
    }
  c = (guint) first->shape[0];
  dim = (guint) first->shape[1] - 2;
  context = g_strdup_printf ("for input_dim %u and c %u", dim, c);

  for (guint i = 0; i < G_N_ELEMENTS (generator_layers); i++)
    {
      const PicardGeneratorLayer *layer = &generator_layers[i];
      gsize k = layer->kernel;
      gsize out = picard_generator_layer_out_channels (layer, dim, c);
      gsize weight_shape[4] = { out, picard_generator_layer_in_channels (layer, dim, c), k, k };
      char *weight = g_strconcat (layer->name, ".conv.weight", NULL);
      char *bias = g_strconcat (layer->name, ".conv.bias", NULL);

      g_hash_table_add (expected, weight);
      g_hash_table_add (expected, bias);
      if (!check_tensor (checkpoint, weight, 4, weight_shape, what, context, error)
          || !check_tensor (checkpoint, bias, 1, &out, what, context, error))
        return FALSE;
    }
  if (!check_no_extra (checkpoint, "", expected, what, error))
    return FALSE;
  if (input_dim != NULL)
    *input_dim = dim;
  if (cnum != NULL)
    *cnum = c;
  return TRUE;
}

gboolean
picard_checkpoint_validate_critic (const PicardCheckpoint *checkpoint, const char *prefix,
                                   PicardCriticKind kind, guint *input_dim, guint *ndf,
                                   GError **error)
{
  const char *what = kind == PICARD_CRITIC_GLOBAL ? "PICARD global critic" : "PICARD local critic";
  gsize side = kind == PICARD_CRITIC_LOCAL ? 8 : 16;
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *first_name = NULL;
  g_autofree char *context = NULL;
  const PicardTensor *first;
  gsize d, dim;
  const gsize channels[5][2] = { { 0, 0 }, { 1, 0 }, { 2, 1 }, { 4, 2 }, { 4, 4 } };

  g_return_val_if_fail (checkpoint != NULL && prefix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  first_name = g_strconcat (prefix, "dis_conv_module.conv1.conv.weight", NULL);
  first = picard_checkpoint_lookup (checkpoint, first_name);
  if (first == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: tensor %s is missing; this is not a checkpoint of the %s (dis_*.pt)",
                   checkpoint->source, first_name, what);
      return FALSE;
    }
  if (first->ndim != 4 || first->shape[0] == 0 || first->shape[0] > 4096 || first->shape[1] == 0
      || first->shape[1] > 4096 || first->shape[2] != 5 || first->shape[3] != 5)
    {
      g_autofree char *have = shape_string (first->ndim, first->shape);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor %s has shape %s, expected d x input_dim x 5 x 5",
                   checkpoint->source, first_name, have);
      return FALSE;
    }
  d = first->shape[0];
  dim = first->shape[1];
  context = g_strdup_printf ("for input_dim %" G_GSIZE_FORMAT " and d %" G_GSIZE_FORMAT, dim, d);
  for (guint i = 1; i <= 4; i++)
    {
      gsize out = channels[i][0] * d;
      gsize weight_shape[4] = { out, i == 1 ? dim : channels[i][1] * d, 5, 5 };
      char *weight = g_strdup_printf ("%sdis_conv_module.conv%u.conv.weight", prefix, i);
      char *bias = g_strdup_printf ("%sdis_conv_module.conv%u.conv.bias", prefix, i);

      g_hash_table_add (expected, weight);
      g_hash_table_add (expected, bias);
      if (!check_tensor (checkpoint, weight, 4, weight_shape, what, context, error)
          || !check_tensor (checkpoint, bias, 1, &out, what, context, error))
        return FALSE;
    }
  if (kind == PICARD_CRITIC_ANY_SIZE)
    {
      g_autofree char *linear_name = g_strconcat (prefix, "linear.weight", NULL);
      guint input_size = picard_checkpoint_critic_input_size (checkpoint, prefix);

      if (input_size == 0)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: tensor %s does not fit a square input: expected 1 x 4d*s*s "
                       "(%s)", checkpoint->source, linear_name, context);
          return FALSE;
        }
      side = input_size / 16;
    }
  {
    gsize linear_shape[2] = { 1, 4 * d * side * side };
    gsize one = 1;
    char *weight = g_strconcat (prefix, "linear.weight", NULL);
    char *bias = g_strconcat (prefix, "linear.bias", NULL);

    g_hash_table_add (expected, weight);
    g_hash_table_add (expected, bias);
    if (!check_tensor (checkpoint, weight, 2, linear_shape, what, context, error)
        || !check_tensor (checkpoint, bias, 1, &one, what, context, error))
      return FALSE;
  }
  /* Other tensors under the critic's own prefix mean another architecture; with no prefix,
   * only the critic's own module names are checked, as the file may hold more. */
  if (!check_no_extra (checkpoint, *prefix ? prefix : "dis_conv_module.", expected, what, error))
    return FALSE;
  if (input_dim != NULL)
    *input_dim = (guint) dim;
  if (ndf != NULL)
    *ndf = (guint) d;
  return TRUE;
}

guint
picard_checkpoint_critic_input_size (const PicardCheckpoint *checkpoint, const char *prefix)
{
  g_autofree char *conv1_name = NULL;
  g_autofree char *linear_name = NULL;
  const PicardTensor *conv1, *linear;
  gsize per_pixel, side;

  g_return_val_if_fail (checkpoint != NULL && prefix != NULL, 0);

  conv1_name = g_strconcat (prefix, "dis_conv_module.conv1.conv.weight", NULL);
  linear_name = g_strconcat (prefix, "linear.weight", NULL);
  conv1 = picard_checkpoint_lookup (checkpoint, conv1_name);
  linear = picard_checkpoint_lookup (checkpoint, linear_name);
  if (conv1 == NULL || linear == NULL || conv1->ndim != 4 || linear->ndim != 2
      || linear->shape[0] != 1 || conv1->shape[0] == 0)
    return 0;
  per_pixel = 4 * conv1->shape[0];
  if (linear->shape[1] % per_pixel != 0)
    return 0;
  /* Integer square root of the feature map's area; rounding errors are checked away. */
  side = (gsize) sqrt ((double) (linear->shape[1] / per_pixel));
  while (side * side > linear->shape[1] / per_pixel)
    side--;
  while ((side + 1) * (side + 1) <= linear->shape[1] / per_pixel)
    side++;
  if (side == 0 || side * side != linear->shape[1] / per_pixel || side > 4096)
    return 0;
  return (guint) (16 * side);
}

gboolean
picard_checkpoint_trained_geometry (const char *dis_path, guint *patch_size, guint *hole_size)
{
  g_return_val_if_fail (dis_path != NULL && patch_size != NULL && hole_size != NULL, FALSE);

  g_autoptr(PicardCheckpoint) critics = picard_checkpoint_load (dis_path, NULL);
  *patch_size = critics != NULL ? picard_checkpoint_critic_input_size (critics, "globalD.") : 0;
  *hole_size = critics != NULL ? picard_checkpoint_critic_input_size (critics, "localD.") : 0;
  if (*patch_size > *hole_size && *hole_size > 0)
    return TRUE;
  *patch_size = *hole_size = 0;
  return FALSE;
}
