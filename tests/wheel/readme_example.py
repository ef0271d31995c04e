"""The README's Python example, verbatim (tests/wheel/test_usability.py keeps it equal to the README;
scripts/test.sh and the wheel tests type-check it with mypy --strict against the installed package)."""

# fmt: off
import brainvq

root = brainvq.make_standin("data", train_subjects=12, size=128)  # or your OASIS keras_png_slices_data
train, val, test = (brainvq.Dataset.from_oasis(root, s) for s in ("train", "validate", "test"))
trainer = brainvq.Trainer(train, val, preset="seed", learning_rate=1e-3)
history = trainer.fit(epochs=5)             # tqdm bars; Ctrl-C stops cleanly between chunks
model = trainer.model
print("test SSIM", model.evaluate(test).ssim)
brainvq.plot.reconstructions(test[:8], model.reconstruct(test[:8]))
model.save("model.bvq"); model.export_onnx("onnx")
