/* picard-pickle.c: a pickle machine that can only build state_dicts.
 *
 * Values live in an arena owned by the PicardPickle, so shared references (the pickle memo)
 * and even cycles cost nothing to free; consumers walk the graph with their own depth limit.
 * Every read is bounds-checked and every opcode checks the types it pops. */
#include "picard-pickle.h"

#include "picard-error.h"

#include <stdarg.h>
#include <string.h>

#define MAX_STACK (1 << 20)
#define MAX_MARKS 4096
#define MAX_GLOBAL_LINE 256

struct _PicardPickle {
  GPtrArray *arena;
  PicardPickleValue *root;
};

typedef struct {
  PicardPickle *pickle;
  const guint8 *data;
  gsize size;
  gsize pos;
  gsize op_pos;
  const char *name;
  GPtrArray *stack;
  GArray *marks;
  GHashTable *memo;
} Parser;

static void
value_free (gpointer data)
{
  PicardPickleValue *value = data;

  switch (value->type)
    {
    case PICARD_PICKLE_STRING:
      g_free (value->string.str);
      break;
    case PICARD_PICKLE_TUPLE:
      g_free (value->tuple.items);
      break;
    case PICARD_PICKLE_DICT:
      g_ptr_array_unref (value->dict.keys);
      g_ptr_array_unref (value->dict.values);
      g_hash_table_destroy (value->dict.index);
      break;
    case PICARD_PICKLE_STORAGE:
      g_free (value->storage.key);
      break;
    case PICARD_PICKLE_NONE:
    case PICARD_PICKLE_BOOL:
    case PICARD_PICKLE_INT:
    case PICARD_PICKLE_GLOBAL:
    case PICARD_PICKLE_TENSOR:
      break;
    }
  g_free (value);
}

const char *
picard_pickle_type_name (PicardPickleType type)
{
  switch (type)
    {
    case PICARD_PICKLE_NONE: return "None";
    case PICARD_PICKLE_BOOL: return "bool";
    case PICARD_PICKLE_INT: return "int";
    case PICARD_PICKLE_STRING: return "str";
    case PICARD_PICKLE_TUPLE: return "tuple";
    case PICARD_PICKLE_DICT: return "dict";
    case PICARD_PICKLE_GLOBAL: return "global";
    case PICARD_PICKLE_STORAGE: return "storage";
    case PICARD_PICKLE_TENSOR: return "tensor";
    }
  return "unknown";
}

static PicardPickleValue *
value_new (Parser *p, PicardPickleType type)
{
  PicardPickleValue *value = g_new0 (PicardPickleValue, 1);

  value->type = type;
  if (type == PICARD_PICKLE_DICT)
    {
      value->dict.keys = g_ptr_array_new ();
      value->dict.values = g_ptr_array_new ();
      value->dict.index = g_hash_table_new (g_str_hash, g_str_equal);
    }
  g_ptr_array_add (p->pickle->arena, value);
  return value;
}

G_GNUC_PRINTF (3, 4) static gboolean
fail (Parser *p, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: unreadable state_dict pickle at byte %" G_GSIZE_FORMAT ": %s",
               p->name, p->op_pos, message);
  return FALSE;
}

static gboolean
take (Parser *p, gsize n, const guint8 **out, GError **error)
{
  if (n > p->size - p->pos)
    return fail (p, error, "the pickle ends early (truncated file?)");
  *out = p->data + p->pos;
  p->pos += n;
  return TRUE;
}

static gboolean
push (Parser *p, PicardPickleValue *value, GError **error)
{
  if (p->stack->len >= MAX_STACK)
    return fail (p, error, "the pickle stack grows beyond %d entries", MAX_STACK);
  g_ptr_array_add (p->stack, value);
  return TRUE;
}

/* The stack above the innermost mark, which must not be crossed by plain pops. */
static gsize
stack_floor (Parser *p)
{
  return p->marks->len > 0 ? g_array_index (p->marks, gsize, p->marks->len - 1) : 0;
}

static PicardPickleValue *
pop (Parser *p, GError **error)
{
  if (p->stack->len <= stack_floor (p))
    {
      fail (p, error, "an opcode pops from an empty stack");
      return NULL;
    }
  return g_ptr_array_steal_index (p->stack, p->stack->len - 1);
}

static PicardPickleValue *
top (Parser *p, GError **error)
{
  if (p->stack->len <= stack_floor (p))
    {
      fail (p, error, "an opcode needs a value on an empty stack");
      return NULL;
    }
  return p->stack->pdata[p->stack->len - 1];
}

static gboolean
pop_mark (Parser *p, gsize *mark, GError **error)
{
  if (p->marks->len == 0)
    return fail (p, error, "an opcode needs a mark that was never set");
  *mark = g_array_index (p->marks, gsize, p->marks->len - 1);
  g_array_set_size (p->marks, p->marks->len - 1);
  return TRUE;
}

static gboolean
push_string (Parser *p, const guint8 *bytes, gsize len, GError **error)
{
  PicardPickleValue *value;

  if (!g_utf8_validate_len ((const char *) bytes, len, NULL)
      || memchr (bytes, 0, len) != NULL)
    return fail (p, error, "a string is not valid UTF-8 text");
  value = value_new (p, PICARD_PICKLE_STRING);
  value->string.str = g_strndup ((const char *) bytes, len);
  value->string.len = len;
  return push (p, value, error);
}

static gboolean
push_int (Parser *p, gint64 integer, GError **error)
{
  PicardPickleValue *value = value_new (p, PICARD_PICKLE_INT);

  value->integer = integer;
  return push (p, value, error);
}

static gboolean
push_tuple (Parser *p, gsize first, GError **error)
{
  PicardPickleValue *value = value_new (p, PICARD_PICKLE_TUPLE);
  gsize n = p->stack->len - first;

  value->tuple.n_items = n;
  value->tuple.items = g_new (PicardPickleValue *, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    value->tuple.items[i] = p->stack->pdata[first + i];
  g_ptr_array_set_size (p->stack, first);
  return push (p, value, error);
}

static gboolean
dict_set (Parser *p, PicardPickleValue *dict, PicardPickleValue *key, PicardPickleValue *value,
          GError **error)
{
  gpointer position;

  if (dict->type != PICARD_PICKLE_DICT)
    return fail (p, error, "items are set on a %s, not a dict", picard_pickle_type_name (dict->type));
  if (key->type != PICARD_PICKLE_STRING)
    return fail (p, error, "a dict key is a %s, not a string", picard_pickle_type_name (key->type));
  position = g_hash_table_lookup (dict->dict.index, key->string.str);
  if (position != NULL)
    {
      /* As in Python: a repeated key replaces the value and keeps its place. */
      dict->dict.values->pdata[GPOINTER_TO_UINT (position) - 1] = value;
      return TRUE;
    }
  g_ptr_array_add (dict->dict.keys, key);
  g_ptr_array_add (dict->dict.values, value);
  g_hash_table_insert (dict->dict.index, key->string.str, GUINT_TO_POINTER (dict->dict.keys->len));
  return TRUE;
}

/* Text of a module or name read from the input, made safe for an error message. */
static char *
printable (const guint8 *bytes, gsize len)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len && i < 64; i++)
    g_string_append_c (out, bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char) bytes[i] : '?');
  if (len > 64)
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

static gboolean
resolve_global (Parser *p, const guint8 *module, gsize module_len, const guint8 *name,
                gsize name_len, GError **error)
{
  static const struct {
    const char *module, *name;
    PicardPickleGlobal global;
  } allowed[] = {
    { "collections", "OrderedDict", PICARD_PICKLE_GLOBAL_ORDERED_DICT },
    { "torch._utils", "_rebuild_tensor_v2", PICARD_PICKLE_GLOBAL_REBUILD_TENSOR_V2 },
    { "torch._utils", "_rebuild_parameter", PICARD_PICKLE_GLOBAL_REBUILD_PARAMETER },
    { "torch", "FloatStorage", PICARD_PICKLE_GLOBAL_FLOAT_STORAGE },
    { "torch", "HalfStorage", PICARD_PICKLE_GLOBAL_HALF_STORAGE },
    { "torch", "BFloat16Storage", PICARD_PICKLE_GLOBAL_BFLOAT16_STORAGE },
  };
  g_autofree char *module_text = printable (module, module_len);
  g_autofree char *name_text = printable (name, name_len);
  PicardPickleValue *value;

  for (gsize i = 0; i < G_N_ELEMENTS (allowed); i++)
    if (strlen (allowed[i].module) == module_len && strlen (allowed[i].name) == name_len
        && memcmp (allowed[i].module, module, module_len) == 0
        && memcmp (allowed[i].name, name, name_len) == 0)
      {
        value = value_new (p, PICARD_PICKLE_GLOBAL);
        value->global = allowed[i].global;
        return push (p, value, error);
      }
  if (strcmp (module_text, "torch") == 0 && g_str_has_suffix (name_text, "Storage"))
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                 "%s: the state_dict holds tensors of type torch.%s; only float32, float16 and "
                 "bfloat16 tensors are supported, convert it with .float() before saving",
                 p->name, name_text);
  else
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                 "%s: the checkpoint contains code that will not be run (it asks for %s.%s); "
                 "only plain PyTorch state_dicts of tensors can be loaded. Do not use this file "
                 "unless you trust where it came from", p->name, module_text, name_text);
  return FALSE;
}

static gboolean
op_global (Parser *p, GError **error)
{
  const guint8 *lines[2];
  gsize lens[2];

  for (int k = 0; k < 2; k++)
    {
      const guint8 *start = p->data + p->pos;
      gsize avail = MIN (p->size - p->pos, (gsize) MAX_GLOBAL_LINE + 1);
      const guint8 *nl = memchr (start, '\n', avail);

      if (nl == NULL)
        return fail (p, error, "a GLOBAL opcode has no end of line");
      lines[k] = start;
      lens[k] = (gsize) (nl - start);
      p->pos += lens[k] + 1;
    }
  return resolve_global (p, lines[0], lens[0], lines[1], lens[1], error);
}

static gboolean
op_stack_global (Parser *p, GError **error)
{
  PicardPickleValue *name, *module;

  if ((name = pop (p, error)) == NULL || (module = pop (p, error)) == NULL)
    return FALSE;
  if (name->type != PICARD_PICKLE_STRING || module->type != PICARD_PICKLE_STRING)
    return fail (p, error, "STACK_GLOBAL needs two strings");
  return resolve_global (p, (const guint8 *) module->string.str, module->string.len,
                         (const guint8 *) name->string.str, name->string.len, error);
}

static gboolean
int_tuple (PicardPickleValue *value, guint *n, gint64 *out)
{
  if (value->type != PICARD_PICKLE_TUPLE || value->tuple.n_items > PICARD_PICKLE_MAX_DIMS)
    return FALSE;
  for (gsize i = 0; i < value->tuple.n_items; i++)
    {
      if (value->tuple.items[i]->type != PICARD_PICKLE_INT || value->tuple.items[i]->integer < 0)
        return FALSE;
      out[i] = value->tuple.items[i]->integer;
    }
  *n = (guint) value->tuple.n_items;
  return TRUE;
}

static gboolean
op_reduce (Parser *p, GError **error)
{
  PicardPickleValue *args, *callable, *value;
  PicardPickleValue **a;
  gsize n;

  if ((args = pop (p, error)) == NULL || (callable = pop (p, error)) == NULL)
    return FALSE;
  if (callable->type != PICARD_PICKLE_GLOBAL)
    return fail (p, error, "REDUCE calls a %s", picard_pickle_type_name (callable->type));
  if (args->type != PICARD_PICKLE_TUPLE)
    return fail (p, error, "REDUCE arguments are a %s, not a tuple",
                 picard_pickle_type_name (args->type));
  a = args->tuple.items;
  n = args->tuple.n_items;
  switch (callable->global)
    {
    case PICARD_PICKLE_GLOBAL_ORDERED_DICT:
      if (n != 0)
        return fail (p, error, "OrderedDict is built with arguments");
      return push (p, value_new (p, PICARD_PICKLE_DICT), error);

    case PICARD_PICKLE_GLOBAL_REBUILD_TENSOR_V2:
      {
        guint ndim, nstride;

        /* (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        if (n != 6 && n != 7)
          return fail (p, error, "_rebuild_tensor_v2 takes 6 or 7 arguments, not %" G_GSIZE_FORMAT, n);
        value = value_new (p, PICARD_PICKLE_TENSOR);
        if (a[0]->type != PICARD_PICKLE_STORAGE)
          return fail (p, error, "a tensor is built on a %s, not a storage",
                       picard_pickle_type_name (a[0]->type));
        if (a[1]->type != PICARD_PICKLE_INT || a[1]->integer < 0)
          return fail (p, error, "a tensor has a bad storage offset");
        if (!int_tuple (a[2], &ndim, value->tensor.shape)
            || !int_tuple (a[3], &nstride, value->tensor.stride) || ndim != nstride)
          return fail (p, error, "a tensor has a bad size or stride (at most %d dimensions)",
                       PICARD_PICKLE_MAX_DIMS);
        if (a[4]->type != PICARD_PICKLE_BOOL)
          return fail (p, error, "a tensor's requires_grad is not a bool");
        if (a[5]->type != PICARD_PICKLE_DICT)
          return fail (p, error, "a tensor's backward hooks are not an OrderedDict");
        if (n == 7 && a[6]->type != PICARD_PICKLE_DICT && a[6]->type != PICARD_PICKLE_NONE)
          return fail (p, error, "a tensor's metadata is not a dict");
        value->tensor.storage = a[0];
        value->tensor.offset = a[1]->integer;
        value->tensor.ndim = ndim;
        return push (p, value, error);
      }

    case PICARD_PICKLE_GLOBAL_REBUILD_PARAMETER:
      /* (data, requires_grad, backward_hooks): a parameter is its data here. */
      if (n != 3 || a[0]->type != PICARD_PICKLE_TENSOR || a[1]->type != PICARD_PICKLE_BOOL
          || a[2]->type != PICARD_PICKLE_DICT)
        return fail (p, error, "_rebuild_parameter takes (tensor, bool, OrderedDict)");
      return push (p, a[0], error);

    case PICARD_PICKLE_GLOBAL_FLOAT_STORAGE:
    case PICARD_PICKLE_GLOBAL_HALF_STORAGE:
    case PICARD_PICKLE_GLOBAL_BFLOAT16_STORAGE:
      break;
    }
  return fail (p, error, "a storage type is called");
}

static gboolean
op_persistent_id (Parser *p, GError **error)
{
  PicardPickleValue *pid, *value;
  PicardPickleValue **a;

  if ((pid = pop (p, error)) == NULL)
    return FALSE;
  /* ('storage', storage_type, key, location, numel) */
  if (pid->type != PICARD_PICKLE_TUPLE || pid->tuple.n_items != 5)
    return fail (p, error, "a persistent id is not a 5-tuple");
  a = pid->tuple.items;
  if (a[0]->type != PICARD_PICKLE_STRING || strcmp (a[0]->string.str, "storage") != 0)
    return fail (p, error, "a persistent id is not a storage");
  if (a[1]->type != PICARD_PICKLE_GLOBAL || a[1]->global < PICARD_PICKLE_GLOBAL_FLOAT_STORAGE)
    return fail (p, error, "a storage has no storage type");
  if (a[2]->type != PICARD_PICKLE_STRING || a[2]->string.len == 0 || a[2]->string.len > 64
      || strchr (a[2]->string.str, '/') != NULL || strcmp (a[2]->string.str, "..") == 0)
    return fail (p, error, "a storage has a bad key");
  if (a[3]->type != PICARD_PICKLE_STRING)
    return fail (p, error, "a storage has no location");
  if (a[4]->type != PICARD_PICKLE_INT || a[4]->integer < 0)
    return fail (p, error, "a storage has a bad element count");
  value = value_new (p, PICARD_PICKLE_STORAGE);
  value->storage.type = a[1]->global == PICARD_PICKLE_GLOBAL_FLOAT_STORAGE ? PICARD_STORAGE_FLOAT32
                        : a[1]->global == PICARD_PICKLE_GLOBAL_HALF_STORAGE ? PICARD_STORAGE_FLOAT16
                        : PICARD_STORAGE_BFLOAT16;
  value->storage.key = g_strdup (a[2]->string.str);
  value->storage.numel = a[4]->integer;
  return push (p, value, error);
}

static gboolean
memo_put (Parser *p, guint32 index, GError **error)
{
  PicardPickleValue *value = top (p, error);

  if (value == NULL)
    return FALSE;
  g_hash_table_insert (p->memo, GUINT_TO_POINTER (index), value);
  return TRUE;
}

static gboolean
memo_get (Parser *p, guint32 index, GError **error)
{
  PicardPickleValue *value;

  if (!g_hash_table_lookup_extended (p->memo, GUINT_TO_POINTER (index), NULL, (gpointer *) &value))
    return fail (p, error, "a memo entry (%u) is read before it is written", index);
  return push (p, value, error);
}

static guint32
le32 (const guint8 *b)
{
  return (guint32) b[0] | ((guint32) b[1] << 8) | ((guint32) b[2] << 16) | ((guint32) b[3] << 24);
}

static gboolean
run (Parser *p, GError **error)
{
  const guint8 *b = NULL;

  for (;;)
    {
      guint8 op;

      p->op_pos = p->pos;
      if (!take (p, 1, &b, error))
        return FALSE;
      op = b[0];
      switch (op)
        {
        case 0x80: /* PROTO */
          if (!take (p, 1, &b, error))
            return FALSE;
          if (b[0] > 5)
            return fail (p, error, "pickle protocol %u is unknown", b[0]);
          break;

        case 0x95: /* FRAME: only a hint for buffered readers */
          if (!take (p, 8, &b, error))
            return FALSE;
          break;

        case '.': /* STOP */
          if (p->marks->len != 0 || p->stack->len != 1)
            return fail (p, error, "the pickle stops with %u values and %u marks left",
                         p->stack->len, p->marks->len);
          p->pickle->root = p->stack->pdata[0];
          return TRUE;

        case '(': /* MARK */
          if (p->marks->len >= MAX_MARKS)
            return fail (p, error, "marks nest deeper than %d", MAX_MARKS);
          {
            gsize position = p->stack->len; /* the array holds gsize, len is a guint */

            g_array_append_val (p->marks, position);
            break;
          }

        case '}': /* EMPTY_DICT */
          if (!push (p, value_new (p, PICARD_PICKLE_DICT), error))
            return FALSE;
          break;

        case ')': /* EMPTY_TUPLE */
          if (!push_tuple (p, p->stack->len, error))
            return FALSE;
          break;

        case 't': /* TUPLE */
          {
            gsize mark = 0;

            if (!pop_mark (p, &mark, error) || !push_tuple (p, mark, error))
              return FALSE;
            break;
          }

        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: /* TUPLE3 */
          {
            gsize n = (gsize) (op - 0x84);

            if (p->stack->len < stack_floor (p) + n)
              return fail (p, error, "TUPLE%" G_GSIZE_FORMAT " on a short stack", n);
            if (!push_tuple (p, p->stack->len - n, error))
              return FALSE;
            break;
          }

        case 'd': /* DICT */
          {
            gsize mark = 0;
            PicardPickleValue *dict;

            if (!pop_mark (p, &mark, error))
              return FALSE;
            if ((p->stack->len - mark) % 2 != 0)
              return fail (p, error, "DICT with an odd number of items");
            dict = value_new (p, PICARD_PICKLE_DICT);
            for (gsize i = mark; i < p->stack->len; i += 2)
              if (!dict_set (p, dict, p->stack->pdata[i], p->stack->pdata[i + 1], error))
                return FALSE;
            g_ptr_array_set_size (p->stack, mark);
            if (!push (p, dict, error))
              return FALSE;
            break;
          }

        case 's': /* SETITEM */
          {
            PicardPickleValue *value, *key, *dict;

            if ((value = pop (p, error)) == NULL || (key = pop (p, error)) == NULL
                || (dict = top (p, error)) == NULL)
              return FALSE;
            if (!dict_set (p, dict, key, value, error))
              return FALSE;
            break;
          }

        case 'u': /* SETITEMS */
          {
            gsize mark = 0;
            PicardPickleValue *dict;

            if (!pop_mark (p, &mark, error))
              return FALSE;
            if ((p->stack->len - mark) % 2 != 0)
              return fail (p, error, "SETITEMS with an odd number of items");
            if (mark <= stack_floor (p))
              return fail (p, error, "SETITEMS without a dict");
            dict = p->stack->pdata[mark - 1];
            for (gsize i = mark; i < p->stack->len; i += 2)
              if (!dict_set (p, dict, p->stack->pdata[i], p->stack->pdata[i + 1], error))
                return FALSE;
            g_ptr_array_set_size (p->stack, mark);
            break;
          }

        case 'b': /* BUILD: the OrderedDict's attributes (_metadata); not needed */
          {
            PicardPickleValue *state, *target;

            if ((state = pop (p, error)) == NULL || (target = top (p, error)) == NULL)
              return FALSE;
            if (target->type != PICARD_PICKLE_DICT
                || (state->type != PICARD_PICKLE_DICT && state->type != PICARD_PICKLE_NONE))
              return fail (p, error, "BUILD sets a %s on a %s",
                           picard_pickle_type_name (state->type),
                           picard_pickle_type_name (target->type));
            break;
          }

        case 'N': /* NONE */
          if (!push (p, value_new (p, PICARD_PICKLE_NONE), error))
            return FALSE;
          break;

        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
          {
            PicardPickleValue *value = value_new (p, PICARD_PICKLE_BOOL);

            value->boolean = op == 0x88;
            if (!push (p, value, error))
              return FALSE;
            break;
          }

        case 'K': /* BININT1 */
          if (!take (p, 1, &b, error) || !push_int (p, b[0], error))
            return FALSE;
          break;

        case 'M': /* BININT2 */
          if (!take (p, 2, &b, error) || !push_int (p, b[0] | (b[1] << 8), error))
            return FALSE;
          break;

        case 'J': /* BININT */
          if (!take (p, 4, &b, error) || !push_int (p, (gint32) le32 (b), error))
            return FALSE;
          break;

        case 0x8a: /* LONG1 */
          {
            guint64 bits = 0;
            gsize n;

            if (!take (p, 1, &b, error))
              return FALSE;
            n = b[0];
            if (n > 8)
              return fail (p, error, "an integer of %" G_GSIZE_FORMAT " bytes is too large", n);
            if (!take (p, n, &b, error))
              return FALSE;
            for (gsize i = 0; i < n; i++)
              bits |= (guint64) b[i] << (8 * i);
            if (n > 0 && n < 8 && (b[n - 1] & 0x80))
              bits |= ~G_GUINT64_CONSTANT (0) << (8 * n); /* sign-extend */
            if (!push_int (p, (gint64) bits, error))
              return FALSE;
            break;
          }

        case 'X':  /* BINUNICODE */
        case 0x8c: /* SHORT_BINUNICODE */
        case 0x8d: /* BINUNICODE8 */
          {
            guint64 len = 0;
            gsize width = op == 0x8c ? 1 : op == 'X' ? 4 : 8;

            if (!take (p, width, &b, error))
              return FALSE;
            for (gsize i = 0; i < width; i++)
              len |= (guint64) b[i] << (8 * i);
            if (len > p->size - p->pos)
              return fail (p, error, "a string runs past the end of the pickle");
            if (!take (p, (gsize) len, &b, error) || !push_string (p, b, (gsize) len, error))
              return FALSE;
            break;
          }

        case 'c': /* GLOBAL */
          if (!op_global (p, error))
            return FALSE;
          break;

        case 0x93: /* STACK_GLOBAL */
          if (!op_stack_global (p, error))
            return FALSE;
          break;

        case 'R': /* REDUCE */
          if (!op_reduce (p, error))
            return FALSE;
          break;

        case 'Q': /* BINPERSID */
          if (!op_persistent_id (p, error))
            return FALSE;
          break;

        case 'q': /* BINPUT */
          if (!take (p, 1, &b, error) || !memo_put (p, b[0], error))
            return FALSE;
          break;

        case 'r': /* LONG_BINPUT */
          if (!take (p, 4, &b, error) || !memo_put (p, le32 (b), error))
            return FALSE;
          break;

        case 0x94: /* MEMOIZE */
          if (!memo_put (p, g_hash_table_size (p->memo), error))
            return FALSE;
          break;

        case 'h': /* BINGET */
          if (!take (p, 1, &b, error) || !memo_get (p, b[0], error))
            return FALSE;
          break;

        case 'j': /* LONG_BINGET */
          if (!take (p, 4, &b, error) || !memo_get (p, le32 (b), error))
            return FALSE;
          break;

        default:
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "%s: the pickle uses opcode 0x%02x at byte %" G_GSIZE_FORMAT ", which a "
                       "PyTorch state_dict does not need; only state_dicts saved with torch.save "
                       "can be loaded", p->name, op, p->op_pos);
          return FALSE;
        }
    }
}

PicardPickle *
picard_pickle_load (const guint8 *data, gsize size, const char *display_name, GError **error)
{
  Parser parser = { 0 };
  PicardPickle *pickle;
  gboolean ok;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pickle = g_new0 (PicardPickle, 1);
  pickle->arena = g_ptr_array_new_with_free_func (value_free);
  parser.pickle = pickle;
  parser.data = data;
  parser.size = size;
  parser.name = display_name != NULL ? display_name : "checkpoint";
  parser.stack = g_ptr_array_new ();
  parser.marks = g_array_new (FALSE, FALSE, sizeof (gsize));
  parser.memo = g_hash_table_new (g_direct_hash, g_direct_equal);
  ok = run (&parser, error);
  g_ptr_array_unref (parser.stack);
  g_array_unref (parser.marks);
  g_hash_table_destroy (parser.memo);
  if (!ok)
    {
      picard_pickle_free (pickle);
      return NULL;
    }
  return pickle;
}

void
picard_pickle_free (PicardPickle *pickle)
{
  if (pickle == NULL)
    return;
  g_ptr_array_unref (pickle->arena);
  g_free (pickle);
}

const PicardPickleValue *
picard_pickle_get_root (const PicardPickle *pickle)
{
  g_return_val_if_fail (pickle != NULL, NULL);
  return pickle->root;
}
