#include "engine/plan_i8.h"

#include "config/kernel_registry_i8.h"
#include "ops/planner.h"
#include "ops/qconv2d.h"
#include "ops/qconv2d_taps.h"

namespace spiralkit {

std::string qlinear_kernel_name(const QuantizedWeight& q, int64_t m, PlanChoice choice) {
  const PackedWeightI8& w = *q.w;
  const bool dense = qplan_dense(w, m, choice);
  if (m < kGemvRows && (dense || w.panels.r == 1))
    return std::string("int8 ") + (dense ? select_qs8_gemv()->name : select_qs8_spmv()->name);
  return std::string("int8 ") + (dense ? select_qs8_gemm()->name : select_qs8_spmm(w.panels.r)->name);
}

namespace {
bool depthwise(const ConvShape& s) { return s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels; }
}  // namespace

// Depthwise layers run int8 on planes at least kInt8DepthwiseMinWidth wide: there the qs8-dwconv
// row (uint8 in, uint8 out; the VNNI dot-product row where the CPU has it) beats the fp32 kernel
// plus the dequantize pass before it and the quantize pass of the next layer. 7-wide planes keep
// the fp32 channel-blocked kernel, which fills its vectors with channels. MobileNet-v2 dense int8,
// 1 thread, AMD EPYC Zen 5, Engine.profile sums: every depthwise layer on the fp32 kernels 3.10 ms (with
// the earlier epilogue); int8 from 28 wide 2.05-2.07 ms, from 14 wide 1.96 (the 14-wide stride-2
// block 0.051 -> 0.032 ms, the others level), all int8 2.19 (a 7-wide block 0.05 -> 0.08 ms).
constexpr int64_t kInt8DepthwiseMinWidth = 14;
bool conv_runs_int8(const ConvShape& s) { return !depthwise(s) || s.out_w >= kInt8DepthwiseMinWidth; }

bool int8_block_runs_fp32(const FusedBlock& b) {
  const ConvShape& d = b.depthwise_shape;
  const int64_t expanded_bytes = int64_t(d.in_channels) * d.in_h * d.in_w * int64_t(sizeof(float));
  int64_t nnz = b.project->nnz, total = b.project->rows * b.project->cols;
  if (b.expand) {
    nnz += b.expand->nnz;
    total += b.expand->rows * b.expand->cols;
  }
  const bool sparse = total > 0 && nnz * 4 <= total;
  return sparse && expanded_bytes >= (int64_t(512) << 10);
}

std::string qconv_kernel_name(const QuantizedWeight& q, const ConvShape& s, PlanChoice choice, bool kernel_epilogue) {
  if (depthwise(s)) {
    const QDwConvRow* row = select_qs8_dwconv();
    if (row->isa == Isa::kAvx512Vnni &&
        !qs8_dwconv_dot_window(s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w))
      return std::string("int8 ") + row->name + " (its AVX-512 fallback: not a 3x3 stride 1/2 window)";
    return std::string("int8 ") + row->name;
  }
  const PackedWeightI8& w = *q.w;
  const QConvPath path = qconv2d_path(w, s, choice, kernel_epilogue);  // as qconv2d_forward runs it
  const std::string name = std::string("int8 ") + (path.dense ? select_qs8_gemm()->name : select_qs8_spmm(w.panels.r)->name);
  return path.direct && !path.dense && s.kernel_h * s.kernel_w > 1 ? name + ", blocks along C_in: taps read in place" : name;
}

std::vector<QuantParams> uint8_values(const Graph& g, const std::vector<char>& int8_conv) {
  const QuantParams fp32{0.0f, 0}, refused{-1.0f, 0};
  std::vector<int> producer(g.values.size(), -1);  // the int8 convolution that may write it as uint8
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (int8_conv[i] & kWritesUint8) producer[g.nodes[i].outputs[0]] = static_cast<int>(i);
  std::vector<int> uses(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int v : n.inputs)
      if (v >= 0) ++uses[v];
  // The parameters every use of v reads it with as uint8: scale 0 until one is seen, -1 refused.
  std::vector<QuantParams> want(g.values.size(), fp32);
  std::vector<int> residual_uses(g.values.size(), 0);
  auto read_as = [&](int v, const QuantParams& x) {
    if (want[v].scale < 0.0f) return;
    if (want[v].scale == 0.0f) want[v] = x;
    else if (want[v].scale != x.scale || want[v].zero_point != x.zero_point) want[v] = refused;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v < 0) continue;
      if (k == 0 && (int8_conv[i] & kReadsUint8)) read_as(v, g.weights[n.weight].quant->layer.x);
      else if (k == 2 && (int8_conv[i] & kResidualInKernel)) ++residual_uses[v];  // reads any parameters
      else if (!uint8_transparent(n)) want[v] = refused;  // a pass-through use is settled below
    }
  }
  for (int v : g.outputs) want[v] = refused;
  std::vector<QuantParams> out(g.values.size(), fp32);
  // A MaxPool between them passes uint8 through when its output is read as uint8 by int8
  // convolutions only and its input is written by one and read by nothing else: both values take
  // the consumers' parameters. Otherwise its input stays fp32.
  for (const Node& n : g.nodes) {
    if (!uint8_transparent(n)) continue;
    const int x = n.inputs[0], y = n.outputs[0];
    if (want[y].scale > 0.0f && producer[x] >= 0 && uses[x] == 1 && want[x].scale == 0.0f) {
      out[y] = want[y];
      want[x] = want[y];
    } else {
      want[x] = refused;
    }
  }
  for (size_t v = 0; v < out.size(); ++v) {
    if (producer[v] < 0) continue;
    if (want[v].scale > 0.0f) out[v] = want[v];
    // Read only as residuals (a projection shortcut): its own calibrated parameters, if it has them.
    else if (want[v].scale == 0.0f && uses[v] > 0 && residual_uses[v] == uses[v] && g.values[v].uint8_scale > 0.0f)
      out[v] = QuantParams{g.values[v].uint8_scale, g.values[v].uint8_zero_point};
  }
  return out;
}

bool uint8_transparent(const Node& n) { return n.op == OpKind::kMaxPool && n.inputs.size() == 1; }

Status run_quantized_conv(const QuantizedWeight& q, const ConvShape& s, const QuantizedConvArgs& args, const Epilogue& ep) {
  QConvPlan plan;
  SPIRALKIT_RETURN_IF_ERROR(qconv2d_plan(q.layer, s, &plan));
  QConvIo io;
  if (args.x_u8) io.x_u8 = static_cast<const uint8_t*>(args.x); else io.x = static_cast<const float*>(args.x);
  if (args.y_u8) {
    io.y_u8 = static_cast<uint8_t*>(args.y);
    io.y_params = *args.y_u8;
  } else {
    io.y = static_cast<float*>(args.y);
  }
  if (args.residual_u8) {
    io.residual_u8 = args.residual;
    io.residual_params = *args.residual_u8;
  }
  return qconv2d_forward(plan, s.batch, io, ep);
}

}  // namespace spiralkit
