/// Runs the selected tests in a fixed order and prints their records.
struct ClusterBench {
    let options: BenchOptions

    func run() throws {
        for test in BenchOptions.Test.allCases where options.tests.contains(test) {
            switch test {
            case .roundTrip:
                BenchLog.info("round trip: \(options.repetitions) × \(options.roundTrips) task round trips per variant")
                try RoundTripBench(roundTrips: options.roundTrips, repetitions: options.repetitions).run()
            case .transfer:
                BenchLog.info(
                    "transfer: \(options.repetitions) × \(options.transferBytes >> 20) MiB per variant")
                try TransferBench(
                    byteCount: options.transferBytes, repetitions: options.repetitions,
                    variants: options.transferVariants
                ).run()
            case .throughput:
                BenchLog.info(
                    "throughput: \(options.repetitions) jobs of \(options.tasks) tasks with \(options.workerCounts) "
                        + "worker processes of \(options.slots) slot(s)")
                try ThroughputBench(options: options).run()
            case .zstd:
                BenchLog.info("zstd: \(options.q4Tensor) and layer \(options.activationLayer)'s input activations")
                try CompressionBench(options: options).run()
            case .evaluation:
                try EvaluationBench(options: options).run()
            case .evoPressScaling:
                try JobScalingBench(options: options, job: .evoPress).run()
            case .inferenceScaling:
                try JobScalingBench(options: options, job: .inference).run()
            case .layerSharding:
                try LayerShardingBench(options: options).run()
            }
        }
    }
}
