"""EpochHistory: Keras' History, with every key's values lined up with the epochs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect.callbacks.epoch_history import EpochHistory


def test_equals_keras_history_when_every_epoch_logs_every_key():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    ours = EpochHistory()
    keras_history = model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[ours])
    assert isinstance(ours, keras.callbacks.History)
    assert ours.epoch == keras_history.epoch == [0, 1, 2]
    assert ours.history == keras_history.history
    assert model.history is keras_history  # Keras' own History stays the model's


def test_a_key_missing_from_an_epoch_is_none_there():
    history = EpochHistory()
    history.on_epoch_end(0, {"loss": 3.0})
    history.on_epoch_end(1, {"loss": 2.0, "MaP": 0.1})
    history.on_epoch_end(2, {"loss": 1.0})
    assert history.history == {"loss": [3.0, 2.0, 1.0], "MaP": [None, 0.1, None]}
    assert [history.logs(i) for i in range(3)] == [
        {"loss": 3.0},
        {"loss": 2.0, "MaP": 0.1},
        {"loss": 1.0},
    ]
    pandas = pytest.importorskip("pandas")
    assert pandas.DataFrame(history.history, index=history.epoch)["MaP"].notna().sum() == 1


def test_a_new_fit_from_epoch_0_replaces_and_initial_epoch_continues():
    history = EpochHistory()
    for epoch in range(3):
        history.on_epoch_end(epoch, {"loss": 1.0, "old": 1.0})
    history.on_train_begin()  # a new fit
    history.on_epoch_end(0, {"loss": 5.0})
    assert history.epoch == [0] and history.history == {"loss": [5.0]}  # "old" is gone
    history.on_train_begin()  # fit(initial_epoch=1)
    history.on_epoch_end(1, {"loss": 4.0})
    assert history.epoch == [0, 1] and history.history == {"loss": [5.0, 4.0]}
    history.on_epoch_end(1, {"loss": 3.0})  # fit(initial_epoch=1) again
    assert history.history == {"loss": [5.0, 3.0]}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (np.float32(0.5), 0.5),
        (tf.constant(2.0), 2.0),
        (np.array([7]), 7.0),
        (3, 3.0),
        ("a", "a"),
        ([1.0, 2.0], [1.0, 2.0]),
    ],
)
def test_numbers_are_stored_as_python_floats(value, stored):
    history = EpochHistory()
    history.on_epoch_end(0, {"x": value})
    assert history.history["x"] == [stored]
    assert type(history.history["x"][0]) is type(stored)
