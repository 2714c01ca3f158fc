/**
 * Runs Troupe's training and evaluation graphs in ONNX Runtime, on flat parameter and gradient
 * buffers, without copying them.
 *
 * <h2>Step-graph contract</h2>
 * A step graph is a plain ONNX model (no ORT training API) that the engine checks when it loads:
 * <ul>
 *   <li>one float input per parameter of the {@link io.troupe.worker.engine.FlatLayout}, named
 *       exactly as the parameter and with its shape;</li>
 *   <li>every other input is an int64 batch input, e.g. {@code idx} and {@code targets} of shape
 *       {@code [B, T]}; symbolic dimensions are fixed when the engine is created;</li>
 *   <li>a scalar float output {@code loss};</li>
 *   <li>a training graph also has one float output {@code grad.<name>} per parameter, with the
 *       parameter's shape; an evaluation graph has none. Other outputs are ignored and not
 *       computed.</li>
 * </ul>
 *
 * <p>Entry points: {@link io.troupe.worker.engine.StepEngine} runs a step graph;
 * {@link io.troupe.worker.engine.GemmPeak} measures what a MatMul reaches on this machine, the
 * yardstick for a step's efficiency.
 */
package io.troupe.worker.engine;
