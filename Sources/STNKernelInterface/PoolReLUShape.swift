/// 2x2 max pooling (stride 2, floor) followed by ReLU, as the seed's `MaxPool2d(2), ReLU()`,
/// over NHWC buffers with `channels` (padded) channels. The forward pass records which of
/// the four inputs won, for the backward pass.
public struct PoolReLUShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    @inlinable public var outH: Int { inH / 2 }
    @inlinable public var outW: Int { inW / 2 }
    @inlinable public var outputCount: Int { outH * outW * channels }
    @inlinable public var inputCount: Int { inH * inW * channels }

    @inlinable
    public init(inH: Int, inW: Int, channels: Int) {
        self.inH = inH
        self.inW = inW
        self.channels = channels
    }
}
