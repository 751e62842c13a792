extension Trainer {
    /// Images in the test set the trainer evaluates on (after --test-limit).
    public var testCount: Int { testLabels.count }

    /// The labels of the test set, in order.
    public var testSetLabels: [Int] { testLabels.map(Int.init) }

    /// Test image `index` as the model takes it: height x width x channels floats in 0 ... 1.
    public func testImage(_ index: Int) -> ArraySlice<Float> {
        let count = network.imageCount
        return testImages[index * count ..< (index + 1) * count]
    }

    /// The model's answer (the most probable class) for every test image, with the
    /// network's current parameters.
    public func testPredictions() -> [Int] {
        let classes = network.classCount
        let chunk = configuration.recipe.batchSize
        var logProbabilities = [Float](repeating: 0, count: chunk * classes)
        var predictions: [Int] = []
        predictions.reserveCapacity(testLabels.count)
        testImages.withUnsafeBufferPointer { images in
            var start = 0
            while start < testLabels.count {
                let count = min(chunk, testLabels.count - start)
                logProbabilities.withUnsafeMutableBufferPointer { out in
                    _ = network.evaluate(
                        images: images.baseAddress! + start * network.imageCount, labels: nil, count: count,
                        logProbs: out.baseAddress!, thetas: nil)
                }
                for i in 0 ..< count {
                    // The first most probable class, as evaluation counts it.
                    var best = 0
                    for c in 1 ..< classes
                    where logProbabilities[i * classes + c] > logProbabilities[i * classes + best] {
                        best = c
                    }
                    predictions.append(best)
                }
                start += count
            }
        }
        return predictions
    }
}
