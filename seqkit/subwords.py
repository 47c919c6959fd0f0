"""Hashed sub-word features of tokens, computed with TensorFlow string ops.

A token's surface form tells a tagger nothing when the token is rare or
unseen; its characters often do (a katakana word is likely a foreign name, a
token ending in 年 a date). :func:`subword_ids` gives every token
:data:`N_FEATURES` feature ids:

* its first character, its last character and its last two characters;
* its shape: each run of characters of one class written as one letter
  (``H`` kanji, ``h`` hiragana, ``K`` katakana, ``0`` digits, ``a`` Latin
  letters, ``.`` anything else), first four runs (``"2005年"`` -> ``"0H"``);
* its length in characters, 1 to 8 (longer counts as 8).

Each feature string is hashed (``tf.strings.to_hash_bucket_fast``) into
``buckets`` ids of its own, so that the features of one token never share an
id. The ops run in eager mode (fitting, predicting) and inside an exported
graph alike, and give the same ids in both: an exported model takes raw
tokens.
"""

N_FEATURES = 5
"""Number of features per token."""

BUCKETS = 2048
"""Hash buckets (ids) per feature that :class:`~seqkit.estimators.SequenceTagger` uses:
enough that few common feature strings share an id, few enough that the sub-word
embedding stays small (``N_FEATURES * BUCKETS + 1`` rows)."""

_SHAPE_CLASSES = (
    ("[A-Za-zＡ-Ｚａ-ｚ]+", "a"),  # first: the other classes' letters are Latin
    ("[0-9０-９]+", "0"),
    (r"\p{Han}+", "H"),
    (r"\p{Hiragana}+", "h"),
    (r"[\p{Katakana}ー]+", "K"),
    ("[^aHhK0]+", "."),
)


def _tf():
    import tensorflow as tf

    return tf


def _shape(tokens):
    tf = _tf()
    for pattern, letter in _SHAPE_CLASSES:
        tokens = tf.strings.regex_replace(tokens, pattern, letter)
    return tf.strings.substr(tokens, 0, 4)


def subword_ids(tokens, buckets):
    """The hashed sub-word feature ids of every token.

    Parameters
    ----------
    tokens : string tensor or array, any shape
        ``""`` is padding.
    buckets : int
        Ids per feature.

    Returns
    -------
    int32 tensor of shape ``tokens.shape + (N_FEATURES,)``
        Feature ``k`` of a token is in ``[1 + k * buckets, (k + 1) * buckets]``;
        padding has ids 0.
    """
    tf = _tf()
    tokens = tf.convert_to_tensor(tokens, tf.string)
    length = tf.strings.length(tokens, unit="UTF8_CHAR")

    def chars(start, count):  # no ragged tensors: they do not trace inside every graph
        return tf.strings.substr(tokens, start, count * tf.ones_like(length), unit="UTF8_CHAR")

    features = [
        chars(tf.zeros_like(length), 1),
        chars(tf.maximum(length - 1, 0), 1),
        chars(tf.maximum(length - 2, 0), 2),
        _shape(tokens),
        tf.strings.as_string(tf.minimum(length, 8)),
    ]
    ids = tf.stack([
        tf.cast(tf.strings.to_hash_bucket_fast(feature, buckets), tf.int32) + 1 + k * buckets
        for k, feature in enumerate(features)
    ], axis=-1)
    return ids * tf.cast(length > 0, tf.int32)[..., None]
