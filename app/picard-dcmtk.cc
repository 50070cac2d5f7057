/* picard-dcmtk.cc: thin extern "C" wrappers over DCMTK; see picard-dcmtk.h. The logic
 * (what to read, validate, convert) lives in picard-dicom.c. */
#include "picard-dcmtk.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcfcache.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <dcmtk/oflog/oflog.h>

struct _PicardDcm {
  DcmFileFormat file;
  DcmFileCache cache; /* keeps the file open between partial reads */
};

static void
set_message (char **message, const char *what, const OFCondition &cond)
{
  if (message != NULL)
    *message = g_strdup_printf ("%s (%s)", what, cond.text ());
}

static void
set_text (char **message, const char *text)
{
  if (message != NULL)
    *message = g_strdup (text);
}

extern "C" void
picard_dcm_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* DCMTK logs to stderr; our callers report through GError instead. */
      OFLog::configure (g_getenv ("PICARD_DCMTK_LOG") != NULL ? OFLogger::WARN_LOG_LEVEL
                                                             : OFLogger::OFF_LOG_LEVEL);
      DcmRLEDecoderRegistration::registerCodecs ();
      DcmRLEEncoderRegistration::registerCodecs ();
      DJDecoderRegistration::registerCodecs ();
      DJEncoderRegistration::registerCodecs ();
      DJLSDecoderRegistration::registerCodecs ();
      DJLSEncoderRegistration::registerCodecs ();
      g_once_init_leave (&once, 1);
    }
}

extern "C" PicardDcm *
picard_dcm_load (const char *path, guint32 max_read_length, char **message)
{
  PicardDcm *dcm;
  OFCondition cond;

  if (!dcmDataDict.isDictionaryLoaded ())
    {
      set_text (message, "DCMTK's data dictionary is not installed (package libdcmtk17)");
      return NULL;
    }
  dcm = new PicardDcm;
  cond = dcm->file.loadFile (path, EXS_Unknown, EGL_noChange, max_read_length,
                             ERM_autoDetect);
  if (cond.bad ())
    {
      set_message (message, "DCMTK could not parse it", cond);
      delete dcm;
      return NULL;
    }
  return dcm;
}

extern "C" PicardDcm *
picard_dcm_new (void)
{
  return new PicardDcm;
}

extern "C" void
picard_dcm_free (PicardDcm *dcm)
{
  delete dcm;
}

/* The leaf element a path such as "Seq[0].Seq[1].Leaf" names, or NULL; creates the
 * missing sequences, items (only the next one) and leaf when @create. Our own walk rather
 * than DcmPathProcessor, which trusts that sequences hold items: damaged files crash it. */
static DcmElement *
find_element (PicardDcm *dcm, const char *path, OFBool create, char **message)
{
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);
  DcmItem *item = dcm->file.getDataset ();

  for (guint i = 0; parts[i] != NULL; i++)
    {
      gboolean leaf = parts[i + 1] == NULL;
      char *bracket = strchr (parts[i], '[');
      guint64 index = 0;
      DcmTag tag;
      DcmElement *element = NULL;

      if (bracket != NULL)
        {
          *bracket = '\0';
          index = g_ascii_strtoull (bracket + 1, NULL, 10);
        }
      if (DcmTag::findTagFromName (parts[i], tag).bad () || (bracket == NULL) != leaf)
        {
          set_text (message, "bad attribute path");
          return NULL;
        }
      if (item->findAndGetElement (tag, element, OFFalse).bad ())
        element = NULL;
      if (leaf)
        {
          if (element == NULL && create)
            {
              element = DcmItem::newDicomElement (tag);
              if (element == NULL || item->insert (element, OFTrue).bad ())
                {
                  delete element;
                  set_text (message, "cannot create the attribute");
                  return NULL;
                }
            }
          return element != NULL && element->isLeaf () ? element : NULL;
        }
      if (element == NULL && create)
        {
          element = new DcmSequenceOfItems (tag);
          if (item->insert (element, OFTrue).bad ())
            {
              delete element;
              set_text (message, "cannot create the sequence");
              return NULL;
            }
        }
      if (element == NULL || element->ident () != EVR_SQ)
        return NULL;
      {
        DcmSequenceOfItems *sequence = OFstatic_cast (DcmSequenceOfItems *, element);

        if (create && index == sequence->card ())
          sequence->append (new DcmItem ());
        if (index >= sequence->card ())
          return NULL;
        item = sequence->getItem ((unsigned long) index);
        if (item == NULL || item->ident () != EVR_item)
          return NULL;
      }
    }
  return NULL;
}

extern "C" char *
picard_dcm_get_string (PicardDcm *dcm, const char *path)
{
  DcmElement *element = find_element (dcm, path, OFFalse, NULL);
  OFString value;

  if (element == NULL || element->getOFString (value, 0, OFTrue).bad () || value.empty ())
    return NULL;
  return g_strdup (value.c_str ());
}

extern "C" gboolean
picard_dcm_put_string (PicardDcm *dcm, const char *path, const char *value, char **message)
{
  char *reason = NULL;
  DcmElement *element = find_element (dcm, path, OFTrue, &reason);
  OFCondition cond;

  if (element == NULL)
    {
      if (message != NULL)
        *message = g_strdup_printf ("%s: %s", path, reason != NULL ? reason : "not found");
      g_free (reason);
      return FALSE;
    }
  cond = element->putString (value);
  if (cond.bad ())
    {
      set_message (message, path, cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" char *
picard_dcm_get_transfer_syntax (PicardDcm *dcm)
{
  DcmXfer xfer (dcm->file.getDataset ()->getOriginalXfer ());

  if (xfer.getXfer () == EXS_Unknown)
    return NULL;
  return g_strdup (xfer.getXferID ());
}

extern "C" char *
picard_dcm_transfer_syntax_name (const char *uid)
{
  DcmXfer xfer (uid);

  if (xfer.getXfer () == EXS_Unknown)
    return g_strdup_printf ("unknown transfer syntax %s", uid);
  return g_strdup (xfer.getXferName ());
}

extern "C" gboolean
picard_dcm_transfer_syntax_is_encapsulated (const char *uid)
{
  return DcmXfer (uid).isEncapsulated ();
}

extern "C" gboolean
picard_dcm_can_decode (const char *uid)
{
  return DcmCodecList::canChangeCoding (DcmXfer (uid).getXfer (), EXS_LittleEndianExplicit);
}

static DcmPixelData *
find_pixel_data (PicardDcm *dcm)
{
  DcmElement *element = NULL;

  if (dcm->file.getDataset ()->findAndGetElement (DCM_PixelData, element, OFFalse).bad ()
      || element == NULL || element->ident () != EVR_PixelData)
    return NULL;
  return OFstatic_cast (DcmPixelData *, element);
}

static DcmPixelSequence *
find_pixel_sequence (PicardDcm *dcm, char **message)
{
  DcmPixelData *pixel_data = find_pixel_data (dcm);
  E_TransferSyntax type;
  const DcmRepresentationParameter *param = NULL;
  DcmPixelSequence *sequence = NULL;

  if (pixel_data == NULL)
    {
      set_text (message, "no pixel data");
      return NULL;
    }
  pixel_data->getOriginalRepresentationKey (type, param);
  if (!DcmXfer (type).isEncapsulated ()
      || pixel_data->getEncapsulatedRepresentation (type, param, sequence).bad ()
      || sequence == NULL)
    {
      set_text (message, "the pixel data are not encapsulated");
      return NULL;
    }
  return sequence;
}

extern "C" gboolean
picard_dcm_get_pixels (PicardDcm *dcm, PicardDcmPixels *pixels, char **message)
{
  DcmPixelData *pixel_data = find_pixel_data (dcm);
  E_TransferSyntax type;
  const DcmRepresentationParameter *param = NULL;
  DcmPixelSequence *sequence;

  memset (pixels, 0, sizeof *pixels);
  if (pixel_data == NULL)
    return TRUE;
  pixels->present = TRUE;
  pixel_data->getOriginalRepresentationKey (type, param);
  if (!DcmXfer (type).isEncapsulated ())
    {
      pixels->length = pixel_data->getLength ();
      return TRUE;
    }
  sequence = find_pixel_sequence (dcm, message);
  if (sequence == NULL)
    return FALSE;
  pixels->encapsulated = TRUE;
  pixels->n_fragments = sequence->card () > 0 ? sequence->card () - 1 : 0;
  return TRUE;
}

static DcmPixelItem *
find_item (PicardDcm *dcm, guint index, char **message)
{
  DcmPixelSequence *sequence = find_pixel_sequence (dcm, message);
  DcmPixelItem *item = NULL;

  if (sequence == NULL)
    return NULL;
  if (sequence->getItem (item, index).bad () || item == NULL)
    {
      set_text (message, "no such fragment");
      return NULL;
    }
  return item;
}

extern "C" gboolean
picard_dcm_get_item_length (PicardDcm *dcm, guint index, guint32 *length, char **message)
{
  DcmPixelItem *item = find_item (dcm, index, message);

  if (item == NULL)
    return FALSE;
  *length = item->getLength ();
  return TRUE;
}

extern "C" gboolean
picard_dcm_read_item (PicardDcm *dcm, guint index, guint32 offset, void *buffer,
                      guint32 size, char **message)
{
  DcmPixelItem *item = find_item (dcm, index, message);
  OFCondition cond;

  if (item == NULL)
    return FALSE;
  if (size == 0)
    return TRUE;
  cond = item->getPartialValue (buffer, offset, size, &dcm->cache);
  if (cond.bad ())
    {
      set_message (message, "could not read a pixel data fragment", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" gboolean
picard_dcm_read_native (PicardDcm *dcm, guint32 offset, void *buffer, guint32 size,
                        char **message)
{
  DcmPixelData *pixel_data = find_pixel_data (dcm);
  OFCondition cond;

  if (pixel_data == NULL)
    {
      set_text (message, "no pixel data");
      return FALSE;
    }
  cond = pixel_data->getPartialValue (buffer, offset, size, &dcm->cache);
  if (cond.bad ())
    {
      set_message (message, "could not read the pixel data", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" gboolean
picard_dcm_decode_frame (PicardDcm *dcm, guint index, guint start_fragment, void *buffer,
                         guint32 size, char **message)
{
  DcmPixelData *pixel_data = find_pixel_data (dcm);
  DcmPixelSequence *sequence;
  Uint32 start = start_fragment;
  OFString color_model;
  OFCondition cond;

  if (pixel_data == NULL)
    {
      set_text (message, "no pixel data");
      return FALSE;
    }
  cond = pixel_data->getUncompressedFrame (dcm->file.getDataset (), index, start, buffer, size,
                                           color_model, &dcm->cache);
  /* The codec loaded the frame's fragments; drop them so memory stays at one frame. */
  sequence = find_pixel_sequence (dcm, NULL);
  for (unsigned long i = 0; sequence != NULL && i < sequence->card (); i++)
    {
      DcmPixelItem *item = NULL;

      if (sequence->getItem (item, i).good () && item != NULL)
        item->compact ();
    }
  if (cond.bad ())
    {
      set_message (message, "DCMTK could not decode the frame", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" gboolean
picard_dcm_put_native (PicardDcm *dcm, const guint16 *values, gsize count, char **message)
{
  OFCondition cond;

  if (count > G_MAXUINT32 / 2)
    {
      set_text (message, "pixel data too large for DICOM");
      return FALSE;
    }
  cond = dcm->file.getDataset ()->putAndInsertUint16Array (DCM_PixelData, values,
                                                          (unsigned long) count);
  if (cond.bad ())
    {
      set_message (message, "could not store the pixel data", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" gboolean
picard_dcm_put_encapsulated (PicardDcm *dcm, const char *uid, guint n_frames,
                             const guint8 *const *frames, const gsize *lengths,
                             char **message)
{
  E_TransferSyntax type = DcmXfer (uid).getXfer ();
  DcmPixelSequence *sequence;
  DcmPixelItem *table;
  DcmPixelData *pixel_data;
  DcmOffsetList offsets;
  OFCondition cond;

  if (!DcmXfer (uid).isEncapsulated ())
    {
      set_text (message, "not an encapsulated transfer syntax");
      return FALSE;
    }
  sequence = new DcmPixelSequence (DCM_PixelSequenceTag);
  table = new DcmPixelItem (DCM_PixelItemTag);
  sequence->insert (table);
  for (guint i = 0; i < n_frames && cond.good (); i++)
    {
      /* Fragments must have even lengths; the zero pad follows the codestream's end. */
      gsize even = lengths[i] + (lengths[i] & 1);
      guint8 *copy;

      if (even > G_MAXUINT32 - 8)
        {
          delete sequence;
          set_text (message, "an encoded frame is too large for DICOM");
          return FALSE;
        }
      copy = (guint8 *) g_malloc0 (even);
      memcpy (copy, frames[i], lengths[i]);
      cond = sequence->storeCompressedFrame (offsets, copy, (Uint32) even, 0);
      g_free (copy);
    }
  if (cond.good ())
    cond = table->createOffsetTable (offsets);
  if (cond.bad ())
    {
      delete sequence;
      set_message (message, "could not build the pixel sequence", cond);
      return FALSE;
    }
  pixel_data = new DcmPixelData (DCM_PixelData);
  pixel_data->putOriginalRepresentation (type, NULL, sequence);
  cond = dcm->file.getDataset ()->insert (pixel_data, OFTrue);
  if (cond.bad ())
    {
      delete pixel_data;
      set_message (message, "could not store the pixel data", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" gboolean
picard_dcm_save (PicardDcm *dcm, const char *path, const char *uid, char **message)
{
  DcmDataset *dataset = dcm->file.getDataset ();
  E_TransferSyntax type = DcmXfer (uid).getXfer ();
  DcmRLERepresentationParameter rle;
  DJ_RPLossless jpeg (1, 0); /* selection value 1, no point transform */
  DJLSRepresentationParameter jpeg_ls (0, OFTrue);
  const DcmRepresentationParameter *param = NULL;
  OFCondition cond;

  if (type == EXS_Unknown)
    {
      set_text (message, "unknown transfer syntax");
      return FALSE;
    }
  if (type == EXS_RLELossless)
    param = &rle;
  else if (type == EXS_JPEGProcess14SV1)
    param = &jpeg;
  else if (type == EXS_JPEGLSLossless)
    param = &jpeg_ls;
  if (param != NULL)
    {
      cond = dataset->chooseRepresentation (type, param);
      if (cond.bad ())
        {
          set_message (message, "DCMTK could not encode the pixel data", cond);
          return FALSE;
        }
    }
  if (!dataset->canWriteXfer (type))
    {
      set_text (message, "the pixel data cannot be written in this transfer syntax");
      return FALSE;
    }
  cond = dcm->file.saveFile (path, type, EET_ExplicitLength, EGL_recalcGL);
  if (cond.bad ())
    {
      set_message (message, "DCMTK could not write it", cond);
      return FALSE;
    }
  return TRUE;
}

extern "C" char *
picard_dcm_new_uid (void)
{
  char uid[100];

  return g_strdup (dcmGenerateUniqueIdentifier (uid, SITE_INSTANCE_UID_ROOT));
}
