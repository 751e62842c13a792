import STNModel

extension Network {
    /// Shape of the first spatial transformer's output (what its sampler made of the
    /// input); nil for a model without one.
    public var sampledShape: TensorShape? { plan.sampledTensors.first.map { plan.tensors[$0].layout.shape } }

    /// The first transformer's output for one image (the model's input layout and scale),
    /// as channels x height x width floats (PyTorch's layout); nil without a transformer.
    /// Runs the forward pass on the first frame: not while training runs a batch.
    public func transformerOutput(image: UnsafePointer<Float>) -> [Float]? {
        guard let id = plan.sampledTensors.first else { return nil }
        return activations(image: image)[plan.tensors[id].name]
    }
}
