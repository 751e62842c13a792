import Foundation  // ProcessInfo, and reading /proc/cpuinfo
// swift-tools-version: 6.1
//
// stn-swift: a Spatial Transformer Network trainer and inference engine.
// One library target per concern; executables are thin command-line layers.
import PackageDescription

// Numeric code needs FMA/AVX: without a target CPU, SIMD.addingProduct lowers to a
// libm `fma` call per lane (~200x slower). Release builds default to the build
// machine's CPU; set STN_TARGET_CPU=haswell (or znver3, skylake-avx512, ...) to build
// for another CPU, or STN_PORTABLE=1 for a baseline x86-64 build that runs anywhere.
let environment = ProcessInfo.processInfo.environment
let portable = environment["STN_PORTABLE"] == "1"
let targetCPU = environment["STN_TARGET_CPU"] ?? "native"
// -Ounchecked turns an index past the end or an inverted range into silent memory
// corruption instead of a trap. STN_CHECKED=1 builds release with -O, which keeps
// bounds and overflow checks at near-release speed: tools/test runs the suite both ways.
let checked = environment["STN_CHECKED"] == "1"

// With AVX-512 the GEMM microkernel holds a 6 x 32 block in twelve 16-lane registers (of
// 32); with AVX2 only, 16 registers fit a 6 x 16 block of 8-lane ones. Swift cannot test a
// target feature with #if, so the package tells the kernels: for `native` it reads the build
// machine's CPU flags, for a named CPU it knows which ones have AVX-512.
let avx512CPUs: Set<String> = [
    "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
    "icelake-server", "tigerlake", "sapphirerapids", "graniterapids", "emeraldrapids",
    "znver4", "znver5",
]
func buildMachineHasAVX512() -> Bool {
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
    return cpuinfo.split(separator: "\n").contains {
        $0.hasPrefix("flags") && $0.split(separator: " ").contains("avx512f")
    }
}
let wideVectors = !portable && (targetCPU == "native" ? buildMachineHasAVX512() : avx512CPUs.contains(targetCPU))

var speed: [SwiftSetting] = [
    .unsafeFlags([checked ? "-O" : "-Ounchecked", "-wmo"], .when(configuration: .release))
]
if !portable {
    speed.append(.unsafeFlags(["-target-cpu", targetCPU]))
}
if wideVectors {
    speed.append(.define("STN_AVX512"))
}

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
// Every tool reports failures the same way (one line, non-zero exit).
let commandLine: [Target.Dependency] = ["STNCommandLine", argumentParser]

let package = Package(
    name: "stn-swift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "STNData", targets: ["STNData"]),
        .library(name: "STNModel", targets: ["STNModel"]),
        .library(name: "STNTrainer", targets: ["STNTrainer"]),
        .library(name: "STNEngine", targets: ["STNEngine"]),
        .executable(name: "stn-data", targets: ["stn-data"]),
        .executable(name: "stn-train", targets: ["stn-train"]),
        .executable(name: "stn-infer", targets: ["stn-infer"]),
        .executable(name: "stn-bench", targets: ["stn-bench"]),
        .executable(name: "stn-report", targets: ["stn-report"]),
        .executable(name: "stn-convert", targets: ["stn-convert"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian: libhdf5-dev and zlib1g-dev (tools/bootstrap installs them).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Files, environment and processor count over POSIX, without Foundation (whose
        // loading would dominate stn-infer's start-up).
        .target(name: "STNSystem", swiftSettings: speed),
        // IDX files, MNIST, the RTS distortion and its PRNG.
        .target(name: "STNData", dependencies: ["CZlib", "STNSystem"], swiftSettings: speed),
        // PNG encoding, raster drawing and plots for previews, training curves, --explain.
        .target(name: "STNImage", dependencies: ["CZlib", "STNSystem"], swiftSettings: speed),
        // The two architectures and the weight-file format, read by a small built-in HDF5
        // reader so inference never loads libhdf5.
        .target(name: "STNModel", dependencies: ["STNSystem"], swiftSettings: speed),
        // libhdf5 bindings: writing weight files and checkpoints, reading any HDF5 file.
        .target(name: "STNLibHDF5", dependencies: ["STNModel", "STNSystem", "CHDF5"], swiftSettings: speed),
        // SIMD compute kernels shared by trainer and engine (raw pointers, no allocation).
        .target(name: "STNKernels", swiftSettings: speed),
        // A model's layer list compiled into steps over named tensors, forward and backward,
        // with the inference arena planned by buffer lifetime: what engine and trainer run.
        .target(name: "STNPlan", dependencies: ["STNModel", "STNKernels"], swiftSettings: speed),
        // Forward/backward passes, SGD, recipes, checkpoints.
        .target(
            name: "STNTrainer",
            dependencies: ["STNSystem", "STNData", "STNModel", "STNLibHDF5", "STNKernels", "STNPlan"],
            swiftSettings: speed),
        // Fixed-shape, zero-allocation inference.
        .target(
            name: "STNEngine", dependencies: ["STNModel", "STNKernels", "STNPlan", "STNSystem"], swiftSettings: speed),

        // Counts heap allocations by interposing glibc's malloc: linked only into stn-bench
        // and the engine tests, to prove the engine allocates nothing per frame.
        .target(name: "AllocationCounter"),

        // ONNX's message schema (the subset in onnx.proto) as SwiftProtobuf messages, for
        // stn-convert's importer and exporter; onnx.pb.swift is generated by
        // tools/generate-onnx-proto and committed.
        .target(
            name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["onnx.proto"]),
        // stn-convert's ONNX importer and exporter: a fixed-shape ONNX graph onto the layer list
        // and back. It reads untrusted bytes and is not hot, so it keeps bounds checks (no
        // -Ounchecked).
        .target(
            name: "STNONNX",
            dependencies: [
                "STNModel", "STNEngine", "ONNXProto", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),

        .target(name: "STNCommandLine", dependencies: [argumentParser], swiftSettings: speed),
        .executableTarget(
            name: "stn-convert", dependencies: ["STNONNX", "STNModel", "STNLibHDF5", "STNSystem"] + commandLine,
            swiftSettings: speed),
        .executableTarget(
            name: "stn-data", dependencies: ["STNData", "STNImage", "STNSystem"] + commandLine, swiftSettings: speed),
        .executableTarget(
            name: "stn-train",
            dependencies: ["STNTrainer", "STNData", "STNModel", "STNLibHDF5", "STNImage", "STNSystem"] + commandLine,
            swiftSettings: speed),
        // Built for one-image-per-process use: no libhdf5 and no full Foundation in its
        // dependencies, the Swift runtime linked statically (with the libraries the static
        // FoundationEssentials needs) and no PIE (no start-up relocations), so a process
        // that answers one image takes a few milliseconds.
        .executableTarget(
            name: "stn-infer",
            dependencies: ["STNEngine", "STNKernels", "STNPlan", "STNData", "STNModel", "STNImage", "STNSystem"]
                + commandLine,
            swiftSettings: speed,
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-static-stdlib", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims",
                        "-Xlinker", "-lswiftSynchronization", "-Xlinker", "-no-pie",
                    ], .when(platforms: [.linux]))
            ]),
        .executableTarget(
            name: "stn-report",
            dependencies: ["STNEngine", "STNData", "STNModel", "STNImage", "STNSystem"] + commandLine,
            swiftSettings: speed),
        .executableTarget(
            name: "stn-bench",
            dependencies: ["STNEngine", "STNTrainer", "STNData", "STNModel", "STNSystem", "AllocationCounter"]
                + commandLine,
            swiftSettings: speed),

        .testTarget(name: "STNSystemTests", dependencies: ["STNSystem"], swiftSettings: speed),
        // Range checks, and the built tools run as a user runs them (each failure one line).
        .testTarget(
            name: "STNCommandLineTests", dependencies: ["STNCommandLine", "STNSystem", argumentParser],
            swiftSettings: speed),
        .testTarget(name: "STNDataTests", dependencies: ["STNData", "STNImage"], swiftSettings: speed),
        .testTarget(name: "STNImageTests", dependencies: ["STNImage", "CZlib"], swiftSettings: speed),
        .testTarget(name: "STNModelTests", dependencies: ["STNModel", "STNLibHDF5"], swiftSettings: speed),
        .testTarget(
            name: "STNONNXTests",
            dependencies: ["STNONNX", "ONNXProto", "STNModel", "STNLibHDF5", "STNEngine"], swiftSettings: speed),
        .testTarget(name: "STNKernelsTests", dependencies: ["STNKernels"], swiftSettings: speed),
        .testTarget(
            name: "STNPlanTests",
            dependencies: ["STNPlan", "STNModel", "STNTrainer", "STNEngine", "STNData", "STNKernels", "STNLibHDF5"],
            swiftSettings: speed),
        .testTarget(
            name: "STNTrainerTests", dependencies: ["STNTrainer", "STNData", "STNModel", "STNLibHDF5"],
            swiftSettings: speed),
        .testTarget(
            name: "STNEngineTests",
            dependencies: ["STNEngine", "STNTrainer", "STNData", "STNModel", "STNLibHDF5", "AllocationCounter"],
            swiftSettings: speed),
    ],
    swiftLanguageModes: [.v6]
)

// package-benchmark benchmarks (Benchmarks/), only when asked for, so the everyday build
// and CI never resolve the benchmark package and its malloc interposer:
//     STN_BENCHMARKS=1 swift package benchmark
if environment["STN_BENCHMARKS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: ["STNEngine", "STNModel", "STNTrainer", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/EngineBenchmarks",
            swiftSettings: speed,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
