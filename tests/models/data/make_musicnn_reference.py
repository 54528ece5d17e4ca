"""Writes musicnn_reference.json: the original musicnn (TensorFlow) on two real fixture clips, with
each checkpoint the converter reads (MTT_musicnn, MSD_musicnn).

Not run by the tests (it needs TensorFlow, which instrax does not depend on). Reproduce with
  python -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 librosa==0.11.0 \
      musicnn==0.1.0 --no-deps ...   # (tensorflow's own dependencies as pip resolves them)
  /tmp/tfenv/bin/python tests/models/data/make_musicnn_reference.py ../shared/fixtures
The inputs are musicnn.extractor.batch_data's log-mel of each file's first 3 s (zero-padded),
computed in test_musicnn.py the same way; the outputs are the logits and the penultimate layer.
"""

import json
import os
import pathlib
import sys

import librosa
import numpy as np
import tensorflow as tf
from musicnn import models

FILES = ("real_transfer/audio/jtd_piano.wav", "real_transfer/audio/phenicx_violin.wav")
FRAMES = 187


def logmel(path):
  audio, _ = librosa.load(path, sr=16000)
  audio = np.pad(audio, (0, max(0, 48000 - len(audio))))[:48000]
  mel = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
  return np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)[:FRAMES]


def outputs(batch, checkpoint):
  graph = tf.Graph()
  with graph.as_default(), tf.name_scope("model"):
    x = tf.compat.v1.placeholder(tf.float32, [None, FRAMES, 96])
    training = tf.compat.v1.placeholder(tf.bool)
    out = models.define_model(x, training, checkpoint, 50)
    sess = tf.compat.v1.Session(graph=graph)
    tf.compat.v1.train.Saver().restore(sess, os.path.dirname(models.__file__) + f"/{checkpoint}/")
    logits, penultimate = sess.run([out[0], out[-1]], {x: batch, training: False})
  return {"logits": np.round(logits, 5).tolist(), "penultimate": np.round(penultimate, 5).tolist()}


def main(fixtures):
  tf.compat.v1.disable_eager_execution()
  batch = np.stack([logmel(os.path.join(fixtures, f)) for f in FILES])
  ref = {"files": list(FILES)}
  for checkpoint in ("MTT_musicnn", "MSD_musicnn"):
    ref[checkpoint] = outputs(batch, checkpoint)
  pathlib.Path(__file__).with_name("musicnn_reference.json").write_text(json.dumps(ref) + "\n")


if __name__ == "__main__":
  main(sys.argv[1])
