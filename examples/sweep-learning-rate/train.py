# The demo's linear regression (examples/local), reporting its mean squared error as it trains so a
# Sweep can rank learning rates (and stop hopeless ones early). LEARNING_RATE comes from the sweep.
import argparse, json, os, random
from linear import mse, step

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--report-every", type=int, default=10)
args = parser.parse_args()
random.seed(7)
xs = [random.uniform(-1, 1) for _ in range(200)]
ys = [3.0 * x + 0.5 + random.gauss(0, 0.05) for x in xs]
lr = float(os.environ.get("LEARNING_RATE", "0.1"))
w, b = 0.0, 0.0
for epoch in range(args.epochs):
    w, b = step(xs, ys, w, b, lr)
    if (epoch + 1) % args.report_every == 0 or epoch + 1 == args.epochs:
        loss = mse(xs, ys, w, b)
        # A metric line: how a script without an MLflow server reports a metric.
        print("AML_METRIC", json.dumps({"name": "mse", "value": loss if loss < 1e300 else 1e300, "step": epoch}), flush=True)
print(f"run {os.environ.get('AML_RUN_ID', '?')} lr={lr} learned w={w:.3f} b={b:.3f} mse={mse(xs, ys, w, b):.5f}")
out = os.environ.get("AML_OUTPUT_DIR", "outputs")  # ./outputs: kept with the run after it ends
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write(f"{w} {b}\n")
