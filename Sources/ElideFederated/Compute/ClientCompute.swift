import ElideFormats
import ElideModels

/// The client-side steps of every federated algorithm: local supervised training, FedD2S uploads and
/// distillation, and personalized evaluation. Each call is deterministic in its inputs and seed.
public enum ClientCompute {
    /// Trains body and classifier on `data` with softmax cross-entropy for `settings.localEpochs` epochs; with
    /// `settings.proxMu > 0` and an anchor, adds FedProx's μ/2 · ‖w − anchor‖² over the shared parameters. With
    /// `settings.trainsAuxiliaryHeads`, each auxiliary head also takes a cross-entropy step per batch on its cut
    /// representation, which does not change the body (the gradient stops at the cut).
    public static func trainLocally(
        _ model: inout ClientModel, data: LabeledImageSet, settings: TrainingSettings, proxAnchor: [Float]?,
        seed: UInt64
    ) {
        checkInput(data, model.architecture)
        let architecture = model.architecture
        let layout = model.layout
        if let proxAnchor {
            precondition(
                proxAnchor.count == layout.sharedCount,
                "the FedProx anchor has \(proxAnchor.count) values, expected \(layout.sharedCount)")
        }
        let proxMu = proxAnchor == nil ? 0 : settings.proxMu
        let network = architecture.fullNetwork
        let heads = settings.trainsAuxiliaryHeads ? (0..<architecture.cutCount).map(architecture.auxiliaryHead) : []
        let batchSize = settings.batchSize
        let workspace = LayerStackWorkspace(stack: network, maximumBatch: batchSize)
        let headWorkspaces = heads.map { LayerStackWorkspace(stack: $0, maximumBatch: batchSize) }
        let inputs = ScratchBuffer(batchSize * architecture.inputShape.count)
        let logitGradient = ScratchBuffer(batchSize * architecture.classes)
        let gradient = ScratchBuffer(layout.totalCount)
        var labels = [Int](repeating: 0, count: batchSize)
        let optimizer = settings.optimizer

        model.withBuffers { parameters, velocity in
            for epoch in 0..<settings.localEpochs {
                let order = MiniBatches.order(count: data.count, seed: seed, epoch: epoch)
                for range in MiniBatches.ranges(count: data.count, batchSize: batchSize) {
                    let batch = range.count
                    labels.withUnsafeMutableBufferPointer { labels in
                        MiniBatches.fillImages(
                            data, indices: order[range], into: inputs.pointer, labels: labels.baseAddress!)
                        let batchLabels = UnsafeBufferPointer(rebasing: labels[0..<batch])

                        // Body and classifier: forward, cross-entropy, backward.
                        let logits = network.forward(
                            input: inputs.pointer, batch: batch, parameters: parameters, workspace: workspace)
                        SoftmaxCrossEntropy.loss(
                            logits: logits, labels: batchLabels, classes: architecture.classes,
                            gradient: logitGradient.pointer)
                        network.backward(
                            input: inputs.pointer, outputGradient: logitGradient.pointer, inputGradient: nil,
                            batch: batch, parameters: parameters, parameterGradient: gradient.pointer,
                            workspace: workspace)
                        if let proxAnchor, proxMu > 0 {
                            addProximalGradient(
                                gradient.pointer, parameters: parameters, anchor: proxAnchor, mu: proxMu)
                        }

                        // Auxiliary heads on the cut representations of the same forward pass.
                        for (cut, head) in heads.enumerated() {
                            let representation = workspace.activations[architecture.layerIndex(ofCut: cut)]
                            let offset = layout.auxiliaryOffsets[cut]
                            let headLogits = head.forward(
                                input: representation, batch: batch, parameters: parameters + offset,
                                workspace: headWorkspaces[cut])
                            SoftmaxCrossEntropy.loss(
                                logits: headLogits, labels: batchLabels, classes: architecture.classes,
                                gradient: logitGradient.pointer)
                            head.backward(
                                input: representation, outputGradient: logitGradient.pointer, inputGradient: nil,
                                batch: batch, parameters: parameters + offset,
                                parameterGradient: gradient.pointer + offset,
                                workspace: headWorkspaces[cut])
                            optimizer.step(
                                parameters: parameters + offset, velocity: velocity + offset,
                                gradient: gradient.pointer + offset, count: head.parameterCount)
                        }
                        optimizer.step(
                            parameters: parameters, velocity: velocity, gradient: gradient.pointer,
                            count: layout.sharedCount)
                    }
                }
            }
        }
    }

    /// Computes the cut-`cut` representations of every image in `data` (count × width, in data order) and the
    /// auxiliary head's logits on them (count × classes): what a FedD2S client uploads.
    public static func upload(_ model: ClientModel, data: LabeledImageSet, cut: Int)
        -> (representations: [Float], width: Int, logits: [Float])
    {
        checkInput(data, model.architecture)
        let architecture = model.architecture
        let body = architecture.body(upTo: cut)
        let head = architecture.auxiliaryHead(cut: cut)
        let width = body.outputShape.count
        let classes = architecture.classes
        var representations = [Float](repeating: 0, count: data.count * width)
        var logits = [Float](repeating: 0, count: data.count * classes)
        let offset = model.layout.auxiliaryOffsets[cut]

        model.parameters.withUnsafeBufferPointer { parameters in
            let parameters = parameters.baseAddress!  // !-safe: a model has parameters
            forEachInferenceBatch(data, stack: body, parameters: parameters) { range, output in
                representations.withUnsafeMutableBufferPointer { target in
                    (target.baseAddress! + range.lowerBound * width).update(from: output, count: range.count * width)
                }
            }
            let headWorkspace = LayerStackWorkspace(stack: head, maximumBatch: MiniBatches.inferenceBatchSize)
            for range in MiniBatches.ranges(count: data.count, batchSize: MiniBatches.inferenceBatchSize) {
                representations.withUnsafeBufferPointer { source in
                    let output = head.forward(
                        input: source.baseAddress! + range.lowerBound * width, batch: range.count,
                        parameters: parameters + offset, workspace: headWorkspace)
                    logits.withUnsafeMutableBufferPointer { target in
                        (target.baseAddress! + range.lowerBound * classes).update(
                            from: output, count: range.count * classes)
                    }
                }
            }
        }
        return (representations, width, logits)
    }

    /// Trains the body up to `cut` and auxiliary head `cut` with
    /// CE(labels) + λ · T² · KL(softmax(teacher / T) ‖ softmax(head / T)) for `settings.distillationEpochs` epochs.
    /// `teacherLogits` contains one row of `classes` values per image of `data`, in data order (the global head's
    /// logits on this client's uploaded representations). Layers above the cut and the classifier are unchanged.
    public static func distill(
        _ model: inout ClientModel, data: LabeledImageSet, teacherLogits: [Float], cut: Int,
        settings: TrainingSettings, seed: UInt64
    ) {
        checkInput(data, model.architecture)
        let architecture = model.architecture
        let classes = architecture.classes
        precondition(
            teacherLogits.count == data.count * classes,
            "teacher logits have \(teacherLogits.count) values, expected \(data.count) images x \(classes) classes")
        let body = architecture.body(upTo: cut)
        let head = architecture.auxiliaryHead(cut: cut)
        let headOffset = model.layout.auxiliaryOffsets[cut]
        let batchSize = settings.batchSize
        let bodyWorkspace = LayerStackWorkspace(stack: body, maximumBatch: batchSize)
        let headWorkspace = LayerStackWorkspace(stack: head, maximumBatch: batchSize)
        let inputs = ScratchBuffer(batchSize * architecture.inputShape.count)
        let teacher = ScratchBuffer(batchSize * classes)
        let logitGradient = ScratchBuffer(batchSize * classes)
        let representationGradient = ScratchBuffer(batchSize * body.outputShape.count)
        let bodyGradient = ScratchBuffer(body.parameterCount)
        let headGradient = ScratchBuffer(head.parameterCount)
        var labels = [Int](repeating: 0, count: batchSize)
        let optimizer = settings.optimizer

        model.withBuffers { parameters, velocity in
            teacherLogits.withUnsafeBufferPointer { teacherLogits in
                for epoch in 0..<settings.distillationEpochs {
                    let order = MiniBatches.order(count: data.count, seed: seed, epoch: epoch)
                    for range in MiniBatches.ranges(count: data.count, batchSize: batchSize) {
                        let batch = range.count
                        labels.withUnsafeMutableBufferPointer { labels in
                            MiniBatches.fillImages(
                                data, indices: order[range], into: inputs.pointer, labels: labels.baseAddress!)
                            MiniBatches.gatherRows(
                                teacherLogits.baseAddress!, width: classes, indices: order[range], into: teacher.pointer
                            )

                            // Forward through the body to the cut, then the auxiliary head.
                            let representation = body.forward(
                                input: inputs.pointer, batch: batch, parameters: parameters, workspace: bodyWorkspace)
                            let logits = head.forward(
                                input: representation, batch: batch, parameters: parameters + headOffset,
                                workspace: headWorkspace)

                            // CE to the labels plus λ·T²·KL to the teacher.
                            SoftmaxCrossEntropy.loss(
                                logits: logits, labels: UnsafeBufferPointer(rebasing: labels[0..<batch]),
                                classes: classes, gradient: logitGradient.pointer)
                            DistillationLoss.loss(
                                student: logits, teacher: teacher.pointer, batch: batch, classes: classes,
                                temperature: settings.temperature, gradient: logitGradient.pointer,
                                weight: settings.distillationWeight, accumulate: true)

                            // Backward through the head into the body, then one SGD step on each.
                            head.backward(
                                input: representation, outputGradient: logitGradient.pointer,
                                inputGradient: representationGradient.pointer, batch: batch,
                                parameters: parameters + headOffset, parameterGradient: headGradient.pointer,
                                workspace: headWorkspace)
                            body.backward(
                                input: inputs.pointer, outputGradient: representationGradient.pointer,
                                inputGradient: nil, batch: batch, parameters: parameters,
                                parameterGradient: bodyGradient.pointer, workspace: bodyWorkspace)
                            optimizer.step(
                                parameters: parameters + headOffset, velocity: velocity + headOffset,
                                gradient: headGradient.pointer, count: head.parameterCount)
                            optimizer.step(
                                parameters: parameters, velocity: velocity, gradient: bodyGradient.pointer,
                                count: body.parameterCount)
                        }
                    }
                }
            }
        }
    }

    /// Counts the images of `data` that the full local model (body + classifier) classifies correctly; ties go
    /// to the lowest class index.
    public static func evaluate(_ model: ClientModel, data: LabeledImageSet) -> (correct: Int, count: Int) {
        checkInput(data, model.architecture)
        let classes = model.architecture.classes
        var correct = 0
        model.parameters.withUnsafeBufferPointer { parameters in
            forEachInferenceBatch(data, stack: model.architecture.fullNetwork, parameters: parameters.baseAddress!) {
                range, logits in
                for row in 0..<range.count
                where argmax(logits + row * classes, count: classes) == data.labels[range.lowerBound + row] {
                    correct += 1
                }
            }
        }
        return (correct, data.count)
    }

    // MARK: - Helpers

    /// Runs `stack` on the images of `data` in order, in batches, and passes each batch's output.
    static func forEachInferenceBatch(
        _ data: LabeledImageSet, stack: LayerStack, parameters: UnsafePointer<Float>,
        _ body: (Range<Int>, UnsafePointer<Float>) -> Void
    ) {
        let batchSize = MiniBatches.inferenceBatchSize
        let workspace = LayerStackWorkspace(stack: stack, maximumBatch: batchSize)
        let inputs = ScratchBuffer(batchSize * stack.inputShape.count)
        var labels = [Int](repeating: 0, count: batchSize)
        let indices = Array(0..<data.count)
        for range in MiniBatches.ranges(count: data.count, batchSize: batchSize) {
            labels.withUnsafeMutableBufferPointer { labels in
                MiniBatches.fillImages(data, indices: indices[range], into: inputs.pointer, labels: labels.baseAddress!)
            }
            let output = stack.forward(
                input: inputs.pointer, batch: range.count, parameters: parameters, workspace: workspace)
            body(range, output)
        }
    }

    static func argmax(_ row: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for index in 1..<count where row[index] > row[best] {
            best = index
        }
        return best
    }

    /// Adds μ · (w − anchor), the gradient of μ/2 · ‖w − anchor‖², to the shared part of `gradient`.
    private static func addProximalGradient(
        _ gradient: UnsafeMutablePointer<Float>, parameters: UnsafePointer<Float>, anchor: [Float], mu: Float
    ) {
        anchor.withUnsafeBufferPointer { anchor in
            for index in 0..<anchor.count {
                gradient[index] += mu * (parameters[index] - anchor[index])
            }
        }
    }

    private static func checkInput(_ data: LabeledImageSet, _ architecture: ConvNetArchitecture) {
        precondition(
            data.channels == architecture.channels && data.height == architecture.height
                && data.width == architecture.width,
            "images are \(data.channels)x\(data.height)x\(data.width), but the model expects "
                + "\(architecture.channels)x\(architecture.height)x\(architecture.width)")
        precondition(
            data.classCount <= architecture.classes,
            "the data set has \(data.classCount) classes, but the model outputs \(architecture.classes)")
    }
}
