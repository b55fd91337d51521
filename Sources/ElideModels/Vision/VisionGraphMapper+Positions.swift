import ElideFormats

extension VisionGraphMapper {
    struct Positions {
        var cls: [Float]  // (width)
        var patches: [Float]  // (grid², width)
        var grid: Int
        /// `cubic_coeff_a` of the graph's Resize, when it has one.
        var cubicCoefficient: Float?
    }

    /// Finds the position embeddings from the `Add` that adds them to the concatenated CLS and patch tokens.
    ///
    /// The exporter writes either one `(1, 1 + grid², width)` initializer, or (Dinov2's
    /// `interpolate_pos_encoding`) a `Concat` of a `(1, 1, width)` CLS embedding with the patch grid
    /// reshaped, resized by a bicubic `Resize` and flattened again. The walk follows each node's first input
    /// back from the Concat's second part to the `(1, grid², width)` initializer.
    func positionEmbeddings(prefix: String, width: Int) throws -> Positions {
        let clsName = prefix + "embeddings.cls_token"
        guard let expand = model.consumers(of: clsName).first,
            let concat = model.consumers(of: expand.outputs[0]).first(where: { $0.opType == "Concat" }),
            let add = model.consumers(of: concat.outputs[0]).first(where: { $0.opType == "Add" }),
            add.inputs.count == 2
        else {
            throw error(nil, clsName, "cannot find the Add that adds position embeddings to the CLS and patch tokens")
        }
        let positionsName = add.inputs[0] == concat.outputs[0] ? add.inputs[1] : add.inputs[0]

        if let whole = model.initializers[positionsName] {
            let values = try floats(positionsName, shape: whole.dims, layer: nil)
            let grid = try squareGrid(whole.dims, rowsBeforeGrid: 1, name: positionsName, width: width)
            return Positions(
                cls: Array(values[0..<width]), patches: Array(values[width...]), grid: grid, cubicCoefficient: nil)
        }

        guard let positionsConcat = model.producer(of: positionsName), positionsConcat.opType == "Concat",
            positionsConcat.inputs.count == 2
        else {
            throw error(nil, positionsName, "expected a Concat of the CLS and patch position embeddings here")
        }
        let clsPosition = try floats(positionsConcat.inputs[0], shape: [1, 1, width], layer: nil)

        var value = positionsConcat.inputs[1]
        var resize: ONNXNode?
        var steps = 0
        while model.initializers[value] == nil {
            guard let node = model.producer(of: value), !node.inputs.isEmpty, steps < 32 else {
                throw error(nil, positionsConcat.inputs[1], "cannot trace this value back to a position initializer")
            }
            if node.opType == "Resize" {
                resize = node
            }
            value = node.inputs[0]
            steps += 1
        }
        let patchTensor = try tensor(value, layer: nil)
        let grid = try squareGrid(patchTensor.dims, rowsBeforeGrid: 0, name: value, width: width)
        let patches = try floats(value, shape: patchTensor.dims, layer: nil)
        return Positions(
            cls: clsPosition, patches: patches, grid: grid, cubicCoefficient: try resize.map(cubicCoefficient))
    }

    /// Checks that the Resize is the bicubic, half-pixel one that `VisionTransformer` reproduces.
    private func cubicCoefficient(_ resize: ONNXNode) throws -> Float {
        guard case .string("cubic") = resize.attributes["mode"] else {
            throw error(
                nil, resize.name,
                "the position Resize is not bicubic (mode \(String(describing: resize.attributes["mode"])))")
        }
        if let mode = resize.attributes["coordinate_transformation_mode"], mode != .string("half_pixel") {
            throw error(nil, resize.name, "the position Resize uses \(mode); only half_pixel is implemented")
        }
        if let exclude = resize.attributes["exclude_outside"], exclude != .int(0) {
            throw error(nil, resize.name, "the position Resize sets exclude_outside, which is not implemented")
        }
        if case .float(let coefficient) = resize.attributes["cubic_coeff_a"] {
            return coefficient
        }
        return -0.75
    }

    /// Returns the side of the square grid in dims `(1, rowsBeforeGrid + grid², width)`.
    private func squareGrid(_ dims: [Int], rowsBeforeGrid: Int, name: String, width: Int) throws -> Int {
        guard dims.count == 3, dims[0] == 1, dims[2] == width, dims[1] > rowsBeforeGrid else {
            let rows = rowsBeforeGrid > 0 ? "1 + grid²" : "grid²"
            throw error(nil, name, "has dims \(dims), expected (1, \(rows), \(width))")
        }
        let count = dims[1] - rowsBeforeGrid
        var grid = 1
        while grid * grid < count { grid += 1 }
        guard grid * grid == count else {
            throw error(nil, name, "contains \(count) patch positions, which is not a square grid")
        }
        return grid
    }
}
