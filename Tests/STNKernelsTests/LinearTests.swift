import STNKernelInterface
import STNKernelSelection
import XCTest

/// The fully connected layer's forward pass (a matrix-vector product by column strips)
/// against plain loops in Double, with each ISA's kernels this machine supports: output
/// counts that leave every strip mix (four-vector strips, one-vector strips, a last 8 with
/// 16-lane registers), odd and even row counts, and thousands of inputs.
final class LinearTests: XCTestCase {
    func testForwardMatchesScalarLoops() { ISA.forEachAvailable { _ in checkForwardMatchesScalarLoops() } }

    func checkForwardMatchesScalarLoops() {
        var random = SeededRandom(seed: 7)
        for (inputs, outputs) in [
            (1, 1), (3, 8), (5, 10), (7, 24), (16, 43), (100, 100), (9, 64), (2, 72), (33, 96), (6_400, 350),
            (250, 136),
        ] {
            let shape = LinearShape(inputs: inputs, outputs: outputs)
            let packed = (0 ..< paddedCount(inputs * shape.outputsP)).map { _ in random.next() }
            let input = (0 ..< paddedCount(inputs)).map { _ in random.next() }
            let bias = (0 ..< paddedCount(shape.outputsP)).map { _ in random.next() }
            var output = [Float](repeating: .nan, count: paddedCount(shape.outputsP))
            kernels.linearForward(shape, input, packed, bias, &output)
            for o in 0 ..< shape.outputsP {
                var expected = Double(bias[o])
                var magnitude = abs(expected)
                for i in 0 ..< inputs {
                    let product = Double(input[i]) * Double(packed[i * shape.outputsP + o])
                    expected += product
                    magnitude += abs(product)
                }
                XCTAssertTrue(
                    close(output[o], expected, relative: 0, absolute: 1e-6 * magnitude + 1e-7),
                    "inputs \(inputs) outputs \(outputs) at \(o): \(output[o]) vs \(expected) [\(ISA.active)]")
            }
            for o in shape.outputsP ..< output.count { XCTAssertTrue(output[o].isNaN, "wrote past outputsP") }
        }
    }
}
