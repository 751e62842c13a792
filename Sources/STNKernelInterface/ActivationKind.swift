/// An elementwise activation, as PyTorch and ONNX define it.
public enum ActivationKind: Sendable, Equatable {
    /// x > 0 ? x : slope * x
    case leakyReLU(slope: Float)
    /// x > 0 ? x : alpha * (exp(x) - 1)
    case elu(alpha: Float)
    case tanh
    case sigmoid
    /// x * sigmoid(x)
    case silu
    /// min(max(x, min), max); ReLU6 is clip(0, 6). Gradient 1 strictly inside (min, max), else
    /// 0 (PyTorch's hardtanh backward).
    case clip(min: Float, max: Float)
    /// max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid; PyTorch's Hardsigmoid is alpha 1/6, beta 0.5).
    case hardSigmoid(alpha: Float, beta: Float)
    /// x * min(max(x + 3, 0), 6) / 6, as PyTorch computes it.
    case hardSwish
    /// x * Phi(x), the exact (erf) form.
    case gelu
}
