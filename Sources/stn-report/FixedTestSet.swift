import STNData
import STNEngine
import STNModel

/// The fixed RTS test set (MNIST t10k distorted with seed 1) with each image's distortion,
/// and the engine's answers on it: what every report bins by.
struct FixedTestSet {
    let images: IDXImages
    let labels: [UInt8]
    let parameters: [RTSParameters]

    init(data: String?, threads: Int) throws {
        let test = try MNIST.load(split: .test, directory: try MNIST.resolveDirectory(data))
        let rts = RTSDistortion(seed: 1)
        images = rts.distort(test.images, threads: threads)
        labels = test.labels
        parameters = (0 ..< images.count).map { rts.parameters(index: $0) }
    }

    var count: Int { images.count }

    /// One result per image, from the inference engine.
    func results(_ weights: ModelWeights, threads: Int) throws -> [InferenceResult] {
        let engine = try Engine(weights: weights, threads: threads)
        var results = [InferenceResult](repeating: InferenceResult(), count: count)
        images.pixels.withUnsafeBufferPointer {
            engine.inferBatch(pixels: $0.baseAddress!, count: count, results: &results, threads: threads)
        }
        return results
    }

    /// Mean of `value` over the images whose parameters fall in each of `bins`, with the
    /// number of images in the bin.
    func binned(_ bins: [Range<Double>], by key: (RTSParameters) -> Double, _ value: (Int) -> Double) -> [(
        mean: Double, count: Int
    )] {
        bins.map { bin in
            let members = parameters.indices.filter { bin.contains(key(parameters[$0])) }
            return (members.reduce(0.0) { $0 + value($1) } / Double(max(1, members.count)), members.count)
        }
    }

    static let angleBins = stride(from: -45.0, to: 45.0, by: 10.0).map { $0 ..< $0 + 10 }
    static let scaleBins = stride(from: 0.7, to: 1.2 - 1e-9, by: 0.05).map { $0 ..< $0 + 0.05 }
}
