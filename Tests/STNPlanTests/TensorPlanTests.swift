import XCTest

@testable import STNModel
@testable import STNPlan

/// Version-2 models run on the same plan: the steps' results against direct arithmetic.
final class TensorPlanTests: XCTestCase {
    /// Plans `text` for inference, loads `parameters` (name -> values), runs `input`, and
    /// returns the output tensor.
    func run(_ text: String, _ parameters: [String: [Float]], _ input: [Float]) throws -> [Float] {
        let architecture = try Architecture(parsing: text)
        let weights = try ModelWeights(architecture: architecture, tensors: parameters)
        let plan = try Plan(architecture, training: false)
        let flat = ParameterLayout(architecture).flatten(weights)
        flat.withUnsafeBufferPointer { plan.load(parameters: $0.baseAddress!) }
        let frame = plan.frame!
        frame.value(plan.inputTensor).update(from: input, count: input.count)
        plan.forward(frame)
        let count = plan.tensors[plan.outputTensor].layout.shape.count
        return Array(UnsafeBufferPointer(start: frame.value(plan.outputTensor), count: count))
    }

    func testGemmWithTransposesAndBroadcastBias() throws {
        let a: [Float] = (0 ..< 12).map { Float($0) * 0.5 - 2 }  // A stored [4, 3]: A' is 3 x 4
        let b: [Float] = (0 ..< 20).map { Float($0 % 7) - 3 }  // B stored [5, 4]: B' is 4 x 5
        let c: [Float] = [1, -2, 3, 0.5, 4]
        let y = try run(
            "stn-model 2\ninput a 4x3\nconstant b - shape=5x4\nconstant c - shape=5\n"
                + "gemm y a,b,c trans_a=1 trans_b=1 alpha=0.25 beta=2\n",
            ["b.value": b, "c.value": c], a)
        XCTAssertEqual(y.count, 15)
        for i in 0 ..< 3 {
            for j in 0 ..< 5 {
                var sum: Float = 0
                for p in 0 ..< 4 { sum += a[p * 3 + i] * b[j * 4 + p] }
                XCTAssertEqual(y[i * 5 + j], 0.25 * sum + 2 * c[j], accuracy: 1e-5)
            }
        }
    }

    func testSoftmaxOverAxisOneOfRankThree() throws {
        let x: [Float] = (0 ..< 60).map { Float(($0 * 37) % 11) - 5 }
        let y = try run("stn-model 2\ninput x 3x4x5\nlog_softmax y x axis=1\n", [:], x)
        for outer in 0 ..< 3 {
            for inner in 0 ..< 5 {
                let column = (0 ..< 4).map { x[outer * 20 + $0 * 5 + inner] }
                let logSum = log(column.map { exp($0) }.reduce(0, +))
                for k in 0 ..< 4 { XCTAssertEqual(y[outer * 20 + k * 5 + inner], column[k] - logSum, accuracy: 1e-5) }
            }
        }
    }

    func testAffineGridAndSamplerOnTwoImages() throws {
        // Two identity thetas with a shift: sampling with align_corners=1 at the grid of a
        // one-pixel shift moves every row of the image by one.
        let theta: [Float] = [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 2.0 / 3]
        let image: [Float] = (0 ..< 32).map { Float($0) }
        let y = try run(
            "stn-model 2\ninput x 2x1x4x4\nconstant theta - shape=2x2x3\n"
                + "affine_grid grid theta size=2x1x4x4 align_corners=1\n"
                + "grid_sample y x,grid mode=bilinear padding=border align_corners=1\n",
            ["theta.value": theta], image)
        XCTAssertEqual(Array(y[0 ..< 16]), Array(image[0 ..< 16]))
        for row in 0 ..< 4 {
            for column in 0 ..< 4 {
                XCTAssertEqual(y[16 + row * 4 + column], image[16 + min(row + 1, 3) * 4 + column], accuracy: 1e-4)
            }
        }
    }

    func testTrainingIsRefusedInOneLine() throws {
        let architecture = try Architecture(parsing: "stn-model 2\ninput x 3x4\nrelu y x\n")
        XCTAssertThrowsError(try Plan(architecture, training: true)) {
            XCTAssertTrue("\($0)".contains("cannot be trained"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n"))
        }
    }
}
