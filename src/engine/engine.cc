#include "engine/engine.h"
#include "engine/plan_i8.h"

#include <algorithm>
#include <numeric>
#include <chrono>
#include <cmath>
#include <cstring>

#include "config/kernel_registry_bf16.h"
#include "ops/attention_bf16.h"
#include "ops/conv2d.h"
#include "ops/qlinear_siblings.h"
#include "ops/winograd_conv.h"
#include "ops/linear.h"
#include "ops/planner.h"
#include "ops/qactivations.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"
#include "spiralkit_kernels/qs8.h"

namespace spiralkit {
namespace {

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

ConvShape conv_shape(const Node& n, const Shape& x, const Shape& y) {
  ConvShape s;
  s.batch = x[0];
  s.in_channels = x[1];
  const bool asym = n.ints[4] != n.ints[6] || n.ints[5] != n.ints[7];
  s.in_h = x[2] + (asym ? n.ints[4] + n.ints[6] : 0);
  s.in_w = x[3] + (asym ? n.ints[5] + n.ints[7] : 0);
  s.out_channels = y[1];
  s.out_h = y[2];
  s.out_w = y[3];
  s.kernel_h = static_cast<int>(n.ints[0]);
  s.kernel_w = static_cast<int>(n.ints[1]);
  s.stride_h = static_cast<int>(n.ints[2]);
  s.stride_w = static_cast<int>(n.ints[3]);
  // Symmetric pads go to the driver; asymmetric ones are applied by a padded copy (pads 0 here).
  s.pad_h = asym ? 0 : static_cast<int>(n.ints[4]);
  s.pad_w = asym ? 0 : static_cast<int>(n.ints[5]);
  s.dilation_h = static_cast<int>(n.ints[8]);
  s.dilation_w = static_cast<int>(n.ints[9]);
  s.groups = static_cast<int>(n.ints[10]);
  return s;
}

bool asymmetric_pads(const Node& n) { return n.ints[4] != n.ints[6] || n.ints[5] != n.ints[7]; }

// x [N, C, H, W] into dst [N, C, H + pt + pb, W + pl + pr], zeros around.
void pad_copy(const float* x, const Shape& sx, const std::vector<int64_t>& a, float* dst) {
  const int64_t h = sx[2], w = sx[3], ph = h + a[4] + a[6], pw = w + a[5] + a[7];
  const int64_t planes = sx[0] * sx[1];
  std::fill(dst, dst + planes * ph * pw, 0.0f);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < h; ++i)
      std::memcpy(dst + (p * ph + i + a[4]) * pw + a[5], x + (p * h + i) * w, static_cast<size_t>(w) * sizeof(float));
}

int64_t stored_choice(const Node& n) { return n.op == OpKind::kConv2d ? n.ints[12] : n.ints[1]; }

PlanChoice choice_of(const Node& n) {
  const int64_t c = stored_choice(n);
  return c == kChoiceFp32 ? PlanChoice::kAuto : static_cast<PlanChoice>(c);
}

// How a Conv2d runs: fp32 (no int8 weight, or kChoiceFp32 on a quantized one); its int8 kernels;
// or, where conv_runs_int8 says the int8 rows lose (depthwise), the fp32 kernels on a
// fake-quantized input, so the layer keeps int8 semantics.
enum class ConvPrecision { kFp32, kInt8, kFakeQuantFp32 };
ConvPrecision conv_precision(const Graph& g, const Node& n, const ConvShape& s) {
  if (!g.weights[n.weight].quant || stored_choice(n) == kChoiceFp32) return ConvPrecision::kFp32;
  return conv_runs_int8(s) ? ConvPrecision::kInt8 : ConvPrecision::kFakeQuantFp32;
}

bool linear_runs_int8(const Graph& g, const Node& n) {
  return g.weights[n.weight].quant && stored_choice(n) != kChoiceFp32;
}

// The kernel a Conv2d/Linear runs, by name; the derived layout it needs (dense values for
// depthwise and dense GEMV, dense panels where the plan falls back) is built here, at plan time,
// and only then: a sparse layer never holds a dense copy it does not use.
std::string conv_kernel_name(const PackedWeight& w, const ConvShape& s, PlanChoice c) {
  if (s.in_channels / s.groups == 1 && s.groups > 1) {
    if (w.pattern.kind != PatternKind::kDense) w.dense_values();
    return "depthwise";
  }
  if (winograd_eligible(w, s, c)) {
    w.winograd_filters();
    return "dense winograd F(4x4,3x3)";
  }
  const PanelPack& p = plan_panels(w, s.out_h * s.out_w, c);
  const bool dense = w.pattern.kind == PatternKind::kDense || plan_dense(w, s.out_h * s.out_w, c);
  return (dense ? std::string("dense ") : std::string("sparse ")) + std::to_string(p.r) + "x1 panels";
}

std::string linear_kernel_name(const PackedWeight& w, int64_t m, PlanChoice c) {
  const bool dense = w.pattern.kind == PatternKind::kDense || plan_dense(w, m, c);
  if (m < kGemvRows) {
    if (dense && w.pattern.kind != PatternKind::kDense) w.dense_values();
    return dense ? "dense gemv" : "sparse gemv " + std::to_string(w.gemv_panels().r) + "x1";
  }
  const PanelPack& p = plan_panels(w, m, c);
  return (dense ? std::string("dense ") : std::string("sparse ")) + std::to_string(p.r) + "x1 panels";
}

bool has_residual(const Node& n) { return n.inputs.size() > 2 && n.inputs[2] >= 0; }

}  // namespace

FusedBlock Engine::fused_block_at(size_t i, int length, const ShapeTable& shapes, const std::vector<void*>* ptr) const {
  FusedBlock b;
  const auto& sh = shapes.shapes;
  auto part = [&](const Node& n, const PackedWeight** w, ConvShape* s, Epilogue* ep) {
    *w = g_.weights[n.weight].packed.get();
    *s = conv_shape(n, sh[n.inputs[0]], sh[n.outputs[0]]);
    ep->act = static_cast<Activation>(n.ints[11]);
    ep->choice = choice_of(n);
    if (!ptr) return;
    if (n.inputs.size() > 1 && n.inputs[1] >= 0) ep->bias = static_cast<const float*>((*ptr)[n.inputs[1]]);
    if (has_residual(n)) ep->residual = static_cast<const float*>((*ptr)[n.inputs[2]]);
  };
  size_t k = i;
  if (length == 3) part(g_.nodes[k++], &b.expand, &b.expand_shape, &b.expand_ep);
  part(g_.nodes[k++], &b.depthwise, &b.depthwise_shape, &b.depthwise_ep);
  part(g_.nodes[k], &b.project, &b.project_shape, &b.project_ep);
  return b;
}

int Engine::fused_block_length(size_t i, const ShapeTable& shapes, const std::vector<int>& uses) const {
  auto runs_int8 = [&](size_t k) {
    const Node& n = g_.nodes[k];
    return conv_precision(g_, n, conv_shape(n, shapes.shapes[n.inputs[0]], shapes.shapes[n.outputs[0]])) ==
           ConvPrecision::kInt8;
  };
  // An int8 layer left to the planner (choice kAuto) may join: the block then runs fp32 if
  // int8_block_runs_fp32 says so, below.
  auto conv = [&](size_t k) {
    if (k >= g_.nodes.size() || g_.nodes[k].op != OpKind::kConv2d || asymmetric_pads(g_.nodes[k])) return false;
    return !runs_int8(k) || stored_choice(g_.nodes[k]) == 0;
  };
  auto has_int8 = [&](int length) {
    for (int k = 0; k < length; ++k)
      if (runs_int8(i + k)) return true;
    return false;
  };
  // Node k's output feeds only node k + 1 (as its input x) and is not a graph output.
  auto chains = [&](size_t k) {
    if (k + 1 >= g_.nodes.size()) return false;
    const int v = g_.nodes[k].outputs[0];
    return uses[v] == 1 && g_.nodes[k + 1].inputs[0] == v &&
           std::find(g_.outputs.begin(), g_.outputs.end(), v) == g_.outputs.end() && !has_residual(g_.nodes[k]);
  };
  for (int length : {3, 2}) {
    bool ok = true;
    for (int k = 0; k < length && ok; ++k) ok = conv(i + k) && (k + 1 == length || chains(i + k));
    if (!ok) continue;
    const FusedBlock b = fused_block_at(i, length, shapes, nullptr);
    if (fusable_block(b) && (!has_int8(length) || int8_block_runs_fp32(b))) return length;
  }
  return 0;
}

Epilogue Engine::linear_epilogue(const Node& n, const std::vector<void*>* ptr) const {
  Epilogue ep;
  ep.act = static_cast<Activation>(n.ints[0]);
  ep.choice = choice_of(n);
  if (ptr) {
    if (n.inputs.size() > 1 && n.inputs[1] >= 0) ep.bias = static_cast<const float*>((*ptr)[n.inputs[1]]);
    if (has_residual(n)) ep.residual = static_cast<const float*>((*ptr)[n.inputs[2]]);
  }
  return ep;
}

bool Engine::linear_pair_at(size_t i, const ShapeTable& shapes, const std::vector<int>& uses) const {
  if (i + 1 >= g_.nodes.size()) return false;
  const Node &up = g_.nodes[i], &down = g_.nodes[i + 1];
  if (up.op != OpKind::kLinear || down.op != OpKind::kLinear || has_residual(up)) return false;
  if (!linear_runs_int8(g_, up) || !linear_runs_int8(g_, down)) return false;
  const int v = up.outputs[0];
  if (uses[v] != 1 || down.inputs[0] != v || std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end())
    return false;
  const QLinearPlan& u = g_.weights[up.weight].quant->layer;
  const int64_t m = u.w->cols ? numel_of(shapes.shapes[up.inputs[0]]) / u.w->cols : 0;
  return qlinear_pair_fusable(u, linear_epilogue(up, nullptr), g_.weights[down.weight].quant->layer, m);
}

Status Engine::create(Graph graph, int64_t batch, std::unique_ptr<Engine>* out) {
  std::unique_ptr<Engine> e(new Engine());
  e->g_ = std::move(graph);
  ShapeTable t;
  SPIRALKIT_RETURN_IF_ERROR(infer_shapes(e->g_, batch, &t));
  e->affine_.resize(e->g_.nodes.size());
  for (size_t i = 0; i < e->g_.nodes.size(); ++i) {
    const Node& n = e->g_.nodes[i];
    if (n.op != OpKind::kBatchNorm) continue;
    const auto& sc = e->g_.constant_of(n.inputs[1])->f32;
    const auto& bi = e->g_.constant_of(n.inputs[2])->f32;
    const auto& mu = e->g_.constant_of(n.inputs[3])->f32;
    const auto& var = e->g_.constant_of(n.inputs[4])->f32;
    auto& [a, b] = e->affine_[i];
    a.resize(sc.size());
    b.resize(sc.size());
    for (size_t c = 0; c < sc.size(); ++c) {
      a[c] = sc[c] / std::sqrt(var[c] + n.floats[0]);
      b[c] = bi[c] - mu[c] * a[c];
    }
  }
  *out = std::move(e);
  return Status::Ok();
}

Status Engine::set_kernel_choices(const std::vector<int>& choices) {
  if (choices.size() != g_.nodes.size()) return Status::InvalidArgument("choices: expected one per node");
  for (size_t i = 0; i < choices.size(); ++i) {
    Node& n = g_.nodes[i];
    if (n.op != OpKind::kConv2d && n.op != OpKind::kLinear) continue;
    if (!valid_kernel_choice(choices[i])) return Status::InvalidArgument("choices: unknown kernel choice");
    (n.op == OpKind::kConv2d ? n.ints[12] : n.ints[1]) = choices[i];
  }
  std::lock_guard<std::mutex> lock(mu_);
  instances_.clear();
  free_arenas_.clear();
  return Status::Ok();
}

Status Engine::instance(int64_t batch, std::shared_ptr<const Instance>* out) const {
  const int threads = get_num_threads();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = instances_.find({batch, threads});
    if (it != instances_.end()) {
      *out = it->second;
      return Status::Ok();
    }
  }
  std::shared_ptr<const Instance> inst;
  SPIRALKIT_RETURN_IF_ERROR(build_instance(batch, threads, &inst));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = instances_.emplace(std::make_pair(batch, threads), inst);
  *out = it->second;
  return Status::Ok();
}

Status Engine::build_instance(int64_t batch, int threads, std::shared_ptr<const Instance>* out) const {
  auto inst = std::make_shared<Instance>();
  inst->batch = batch;
  inst->threads = threads;
  SPIRALKIT_RETURN_IF_ERROR(infer_shapes(g_, batch, &inst->shapes));
  inst->nodes.resize(g_.nodes.size());
  std::vector<int64_t> ws(g_.nodes.size(), 0);
  // An int8 plan (any int8 weight) runs its attention's products in bf16 where the CPU can: their
  // rounding (2^-9) is far under the int8 steps of the layers around them.
  const bool int8_plan = std::any_of(g_.weights.begin(), g_.weights.end(), [](const auto& w) { return w.quant != nullptr; });
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& n = g_.nodes[i];
    const auto& sh = inst->shapes.shapes;
    NodePlan& np = inst->nodes[i];
    if (n.op == OpKind::kConv2d) {
      const PackedWeight& w = *g_.weights[n.weight].packed;
      const Shape& x = sh[n.inputs[0]];
      const ConvShape s = conv_shape(n, x, sh[n.outputs[0]]);
      int64_t floats = conv2d_workspace_floats(w, s, choice_of(n));
      if (asymmetric_pads(n)) floats += s.batch * s.in_channels * s.in_h * s.in_w;
      // An int8 layer on the fp32 kernels reads its input fake-quantized (int8 semantics kept).
      const ConvPrecision precision = conv_precision(g_, n, s);
      if (precision == ConvPrecision::kFakeQuantFp32) floats += s.batch * s.in_channels * s.in_h * s.in_w;
      np.workspace_bytes = floats * 4;
      np.kernel = conv_kernel_name(w, s, choice_of(n));
      if (precision == ConvPrecision::kInt8) {
        Epilogue ep;
        ep.act = static_cast<Activation>(n.ints[11]);
        np.kernel = qconv_kernel_name(*g_.weights[n.weight].quant, s, choice_of(n), !has_residual(n) && !ep.post());
      }
      if (precision == ConvPrecision::kFakeQuantFp32) np.kernel += " (fp32: faster than the int8 row)";
      if (precision == ConvPrecision::kFp32 && g_.weights[n.weight].quant) np.kernel += " (fp32 by choice)";
    } else if (n.op == OpKind::kLinear) {
      const PackedWeight& w = *g_.weights[n.weight].packed;
      const int64_t m = w.cols ? numel_of(sh[n.inputs[0]]) / w.cols : 0;
      np.kernel = linear_kernel_name(w, m, choice_of(n));
      if (linear_runs_int8(g_, n)) np.kernel = qlinear_kernel_name(*g_.weights[n.weight].quant, m, choice_of(n));
      else if (g_.weights[n.weight].quant) np.kernel += " (fp32 by choice)";
    } else if (n.op == OpKind::kAttention) {
      const bool bshd = !n.ints.empty();
      np.bf16_attention = int8_plan && attention_bf16_available();
      const Shape &sq = sh[n.inputs[0]], &sk = sh[n.inputs[1]];
      np.workspace_bytes = (np.bf16_attention ? attention_bf16_workspace_floats(sq, sk, sh[n.inputs[2]], bshd)
                            : bshd            ? attention_bshd_workspace_floats(sq, sk)
                                              : attention_workspace_floats(sq, sk)) * 4;
      np.kernel = bshd ? "fused attention (interleaved heads)" : "fused attention";
      if (np.bf16_attention) np.kernel += std::string(", bf16 products: ") + select_bf16_gemm()->name;
    }
    ws[i] = np.workspace_bytes;
  }
  // Inverted-residual chains run as one fused op: its head plans the block's scratch.
  std::vector<int> uses(g_.values.size(), 0);
  for (const Node& n : g_.nodes)
    for (int v : n.inputs)
      if (v >= 0) ++uses[v];
  FusedSteps fused;
  fused.step.resize(g_.nodes.size());
  std::iota(fused.step.begin(), fused.step.end(), 0);
  fused.unmaterialized.assign(g_.values.size(), false);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const int length = fused_block_length(i, inst->shapes, uses);
    if (length == 0) continue;
    const FusedBlock b = fused_block_at(i, length, inst->shapes, nullptr);
    NodePlan& head = inst->nodes[i];
    head.runs = length;
    head.workspace_bytes = fused_block_workspace_floats(b, threads) * 4;
    head.kernel = std::string("fused block: ") + (length == 3 ? "1x1 expand + " : "") + std::to_string(b.depthwise_shape.kernel_h) +
                  "x" + std::to_string(b.depthwise_shape.kernel_w) + " depthwise + 1x1 project, bands of " +
                  std::to_string(fused_block_band_rows(b)) + " rows" +
                  (g_.weights[g_.nodes[i].weight].quant ? " (fp32: faster than its int8 layers)" : "");
    ws[i] = head.workspace_bytes;
    for (int k = 0; k < length; ++k) {
      fused.step[i + k] = static_cast<int>(i);
      if (k + 1 < length) fused.unmaterialized[g_.nodes[i + k].outputs[0]] = true;  // stays in the bands
    }
    for (int k = 1; k < length; ++k) {
      inst->nodes[i + k].runs = 0;
      inst->nodes[i + k].fused_head = static_cast<int>(i);
      inst->nodes[i + k].kernel = "fused into " + g_.nodes[i].name;
      ws[i + k] = 0;
    }
    i += length - 1;
  }
  // Chained int8 linears (a transformer FFN's up and down) run as one pair: up's output stays in
  // the kernels' layout, as uint8.
  for (size_t i = 0; i + 1 < g_.nodes.size(); ++i) {
    if (inst->nodes[i].runs != 1 || inst->nodes[i + 1].runs != 1 || !linear_pair_at(i, inst->shapes, uses)) continue;
    NodePlan& head = inst->nodes[i];
    head.runs = 2;
    head.linear_pair = true;
    head.kernel += ", with the next layer as one int8 pair (its input kept uint8)";
    inst->nodes[i + 1].runs = 0;
    inst->nodes[i + 1].fused_head = static_cast<int>(i);
    inst->nodes[i + 1].kernel += ", run by " + g_.nodes[i].name + " as one int8 pair";
    ws[i + 1] = 0;
    fused.step[i + 1] = static_cast<int>(i);
    fused.unmaterialized[g_.nodes[i].outputs[0]] = true;
    ++i;
  }
  // int8 linears reading one input (attention's Q, K and V) run as one op from the first of them:
  // x quantized once. The later ones are computed early, so their outputs live from the head on.
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& a = g_.nodes[i];
    if (a.op != OpKind::kLinear || inst->nodes[i].runs != 1 || !linear_runs_int8(g_, a)) continue;
    const QLinearPlan& qa = g_.weights[a.weight].quant->layer;
    const int64_t m = qa.w->cols ? numel_of(inst->shapes.shapes[a.inputs[0]]) / qa.w->cols : 0;
    std::vector<int> sib;
    for (size_t j = i + 1; j < g_.nodes.size() && sib.size() + 1 < static_cast<size_t>(kMaxQLinearSiblings); ++j) {
      const Node& b = g_.nodes[j];
      if (b.op != OpKind::kLinear || b.inputs[0] != a.inputs[0] || inst->nodes[j].runs != 1 ||
          inst->nodes[j].fused_head >= 0 || !linear_runs_int8(g_, b))
        continue;
      if (qlinear_siblings_fusable(qa, g_.weights[b.weight].quant->layer, linear_epilogue(b, nullptr), m))
        sib.push_back(static_cast<int>(j));
    }
    if (sib.empty()) continue;
    NodePlan& head = inst->nodes[i];
    head.siblings = sib;
    head.kernel += ", x quantized once for it and " + std::to_string(sib.size()) + " more";
    for (int j : sib) {
      inst->nodes[j].runs = 0;
      inst->nodes[j].fused_head = static_cast<int>(i);
      inst->nodes[j].kernel += ", run by " + a.name + " on its quantized x";
      ws[j] = 0;
      fused.step[j] = fused.step[i];
    }
  }
  // int8 convolutions that feed only int8 convolutions hand them uint8.
  std::vector<char> int8_conv(g_.nodes.size(), 0);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (n.op != OpKind::kConv2d || inst->nodes[i].runs != 1) continue;  // a fused block reads and writes fp32
    const ConvShape s = conv_shape(n, inst->shapes.shapes[n.inputs[0]], inst->shapes.shapes[n.outputs[0]]);
    const ConvPrecision precision = conv_precision(g_, n, s);
    // A depthwise layer on the fp32 kernels reads a uint8 hand-over too: dequantized into its
    // scratch, those are the values its fake-quantizing pass would compute (dequantize_u8_rows).
    if (precision == ConvPrecision::kFakeQuantFp32 && !asymmetric_pads(n)) int8_conv[i] = kReadsUint8;
    if (precision != ConvPrecision::kInt8) continue;
    const bool depthwise = s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels;
    const bool act_in_kernel = qs8_activation_supported(static_cast<Activation>(n.ints[11]));
    const bool residual_in_kernel = has_residual(n) && !depthwise && act_in_kernel;
    const bool kernel_epilogue = act_in_kernel && (!has_residual(n) || residual_in_kernel);
    int8_conv[i] = (asymmetric_pads(n) ? 0 : kReadsUint8) | (kernel_epilogue ? kWritesUint8 : 0) |
                   (residual_in_kernel ? kResidualInKernel : 0);
  }
  inst->uint8 = uint8_values(g_, int8_conv);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    if ((int8_conv[i] & kResidualInKernel) && inst->uint8[g_.nodes[i].inputs[2]].scale != 0.0f)
      inst->nodes[i].kernel += ", uint8 residual";
    if (int8_conv[i] == kReadsUint8 && inst->uint8[g_.nodes[i].inputs[0]].scale != 0.0f)
      inst->nodes[i].kernel += ", reads uint8";
    if (int8_conv[i] && inst->uint8[g_.nodes[i].outputs[0]].scale != 0.0f) inst->nodes[i].kernel += ", writes uint8";
    else if (uint8_transparent(g_.nodes[i]) && inst->uint8[g_.nodes[i].outputs[0]].scale != 0.0f)
      inst->nodes[i].kernel = "uint8";
  }
  SPIRALKIT_RETURN_IF_ERROR(plan_memory(g_, inst->shapes, ws, &inst->memory, fused));
  *out = std::move(inst);
  return Status::Ok();
}

std::unique_ptr<Engine::Arena> Engine::take_arena(const Instance& inst) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& pool = free_arenas_[&inst];
    if (!pool.empty()) {
      std::unique_ptr<Arena> a = std::move(pool.back());
      pool.pop_back();
      return a;
    }
  }
  // First call at this concurrency: allocate and touch every page once, so later calls never fault.
  auto a = std::make_unique<Arena>();
  const size_t bytes = static_cast<size_t>(inst.memory.arena_bytes) + MemoryPlan::kAlign;
  a->mem.reset(new uint8_t[bytes]);
  std::memset(a->mem.get(), 0, bytes);
  const uintptr_t raw = reinterpret_cast<uintptr_t>(a->mem.get());
  a->base = reinterpret_cast<uint8_t*>((raw + MemoryPlan::kAlign - 1) / MemoryPlan::kAlign * MemoryPlan::kAlign);
  a->ptr.assign(g_.values.size(), nullptr);
  return a;
}

void Engine::give_arena(const Instance& inst, std::unique_ptr<Arena> a) const {
  std::lock_guard<std::mutex> lock(mu_);
  free_arenas_[&inst].push_back(std::move(a));
}

Status Engine::run(const Instance& inst, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                   std::vector<double>* node_seconds) const {
  if (inputs.size() != g_.inputs.size() || outputs.size() != g_.outputs.size())
    return Status::InvalidArgument("run: wrong number of inputs or outputs");
  std::unique_ptr<Arena> arena = take_arena(inst);
  std::vector<void*>& ptr = arena->ptr;
  for (size_t v = 0; v < g_.values.size(); ++v) {
    const Value& val = g_.values[v];
    if (val.constant >= 0) {
      const ConstTensor& c = g_.constants[val.constant];
      ptr[v] = const_cast<void*>(c.dtype == DType::kFloat32 ? static_cast<const void*>(c.f32.data())
                                                             : static_cast<const void*>(c.i64.data()));
    } else if (inst.memory.offset[v] >= 0) {
      ptr[v] = arena->base + inst.memory.offset[v];
    } else {
      ptr[v] = nullptr;
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) ptr[g_.inputs[i]] = const_cast<void*>(inputs[i]);
  for (size_t i = 0; i < outputs.size(); ++i) ptr[g_.outputs[i]] = outputs[i];
  for (size_t v = 0; v < g_.values.size(); ++v)
    if (inst.memory.alias_of[v] >= 0) {
      int r = inst.memory.alias_of[v];
      ptr[v] = ptr[r];
    }
  Status st;
  uint8_t* workspace = arena->base + inst.memory.workspace_offset;
  if (node_seconds) node_seconds->resize(g_.nodes.size(), 0.0);
  for (size_t i = 0; i < g_.nodes.size() && st.ok(); i += std::max(1, inst.nodes[i].runs)) {
    const auto t0 = node_seconds ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const int runs = inst.nodes[i].runs;
    if (runs == 0) continue;  // an earlier node ran it (a sibling linear)
    if (!inst.nodes[i].siblings.empty()) {
      const QLinearPlan* plans[kMaxQLinearSiblings];
      Epilogue eps[kMaxQLinearSiblings];
      float* ys[kMaxQLinearSiblings];
      int count = 0;
      auto add = [&](size_t j) {
        const Node& nj = g_.nodes[j];
        plans[count] = &g_.weights[nj.weight].quant->layer;
        eps[count] = linear_epilogue(nj, &ptr);
        ys[count] = static_cast<float*>(ptr[nj.outputs[0]]);
        ++count;
      };
      add(i);
      for (int j : inst.nodes[i].siblings) add(static_cast<size_t>(j));
      const int64_t m = numel_of(inst.shapes.shapes[g_.nodes[i].inputs[0]]) / plans[0]->w->cols;
      st = qlinear_siblings_forward(plans, eps, count, static_cast<const float*>(ptr[g_.nodes[i].inputs[0]]), m, ys);
    } else if (inst.nodes[i].linear_pair) {
      const Node &up = g_.nodes[i], &down = g_.nodes[i + 1];
      const QLinearPlan& u = g_.weights[up.weight].quant->layer;
      const int64_t m = numel_of(inst.shapes.shapes[up.inputs[0]]) / u.w->cols;
      st = qlinear_pair_forward(u, linear_epilogue(up, &ptr), g_.weights[down.weight].quant->layer,
                                linear_epilogue(down, &ptr), static_cast<const float*>(ptr[up.inputs[0]]), m,
                                static_cast<float*>(ptr[down.outputs[0]]));
    } else if (runs > 1) {
      FusedBlock b = fused_block_at(i, runs, inst.shapes, &ptr);
      float* y = static_cast<float*>(ptr[g_.nodes[i + runs - 1].outputs[0]]);
      b.project_ep.base_ = y;
      st = fused_block_forward(b, static_cast<const float*>(ptr[g_.nodes[i].inputs[0]]), y,
                               reinterpret_cast<float*>(workspace));
    } else {
      st = run_node(i, inst, ptr, workspace);
    }
    if (node_seconds)
      (*node_seconds)[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  give_arena(inst, std::move(arena));
  return st;
}

Status Engine::run_node(size_t i, const Instance& inst, const std::vector<void*>& ptr, uint8_t* workspace) const {
  const Node& n = g_.nodes[i];
  const auto& sh = inst.shapes.shapes;
  const auto& dt = inst.shapes.dtypes;
  auto in = [&](size_t k) -> const float* { return k < n.inputs.size() && n.inputs[k] >= 0 ? static_cast<const float*>(ptr[n.inputs[k]]) : nullptr; };
  auto ishape = [&](size_t k) -> const Shape& { return sh[n.inputs[k]]; };
  float* y = static_cast<float*>(ptr[n.outputs[0]]);
  const Shape& ys = sh[n.outputs[0]];
  float* ws = reinterpret_cast<float*>(workspace);
  switch (n.op) {
    case OpKind::kConv2d: {
      const PackedWeight& w = *g_.weights[n.weight].packed;
      const ConvShape s = conv_shape(n, ishape(0), ys);
      const float* x = in(0);
      if (asymmetric_pads(n)) {
        pad_copy(x, ishape(0), n.ints, ws);
        x = ws;
        ws += s.batch * s.in_channels * s.in_h * s.in_w;
      }
      Epilogue ep;
      ep.bias = in(1);
      ep.act = static_cast<Activation>(n.ints[11]);
      ep.residual = in(2);
      ep.choice = choice_of(n);
      const ConvPrecision precision = conv_precision(g_, n, s);
      if (precision != ConvPrecision::kFp32) {
        const auto& q = g_.weights[n.weight].quant;
        if (precision == ConvPrecision::kInt8) {
          auto u8 = [&](int v) -> const QuantParams* { return v >= 0 && inst.uint8[v].scale != 0.0f ? &inst.uint8[v] : nullptr; };
          QuantizedConvArgs a;
          a.x_u8 = u8(n.inputs[0]) != nullptr;
          a.x = a.x_u8 ? ptr[n.inputs[0]] : x;
          a.y = y;
          a.y_u8 = u8(n.outputs[0]);
          if (has_residual(n) && (a.residual_u8 = u8(n.inputs[2]))) {
            a.residual = static_cast<const uint8_t*>(ptr[n.inputs[2]]);
            ep.residual = nullptr;
          }
          return run_quantized_conv(*q, s, a, ep);
        }
        const int64_t n_x = s.batch * s.in_channels * s.in_h * s.in_w;
        const float* xin = x;
        float* xq = ws;
        const QuantParams& handed = inst.uint8[n.inputs[0]];  // scale 0: x is fp32
        const uint8_t* xu = static_cast<const uint8_t*>(ptr[n.inputs[0]]);
        parallel_run(get_num_threads(), [&](int t, int nt) {
          const int64_t a = n_x * t / nt / 16 * 16, b = t + 1 == nt ? n_x : n_x * (t + 1) / nt / 16 * 16;
          if (handed.scale != 0.0f) dequantize_u8_rows(xu + a, b - a, handed.scale, handed.zero_point, xq + a);
          else fake_quantize_u8_rows(xin + a, b - a, q->layer.x.scale, q->layer.x.zero_point, xq + a);
        });
        x = ws;
        ws += n_x;
      }
      return conv2d_forward(w, s, x, ep, y, ws);
    }
    case OpKind::kLinear: {
      const PackedWeight& w = *g_.weights[n.weight].packed;
      const Epilogue ep = linear_epilogue(n, &ptr);
      if (linear_runs_int8(g_, n))
        return qlinear_forward(g_.weights[n.weight].quant->layer, in(0), numel_of(ishape(0)) / w.cols, ep, y);
      return linear_forward(w, in(0), numel_of(ishape(0)) / w.cols, ep, y);
    }
    case OpKind::kMatMul: matmul_forward(in(0), ishape(0), in(1), ishape(1), y, ys); return Status::Ok();
    case OpKind::kBinary:
      binary_forward(static_cast<BinaryKind>(n.ints[0]), in(0), ishape(0), in(1), ishape(1), y, ys);
      return Status::Ok();
    case OpKind::kUnary:
      unary_forward(static_cast<UnaryOp>(n.ints[0]), in(0), y, numel_of(ys), n.floats[0], n.floats[1]);
      return Status::Ok();
    case OpKind::kSoftmax: {
      int64_t axis = 0;
      normalize_axis(n.ints[0], ys.size(), &axis);
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= ys[d];
      for (size_t d = axis + 1; d < ys.size(); ++d) inner *= ys[d];
      softmax_forward(in(0), y, outer, ys[axis], inner);
      return Status::Ok();
    }
    case OpKind::kLayerNorm: {
      int64_t axis = 0;
      normalize_axis(n.ints[0], ys.size(), &axis);
      int64_t rows = 1, cols = 1;
      for (int64_t d = 0; d < axis; ++d) rows *= ys[d];
      for (size_t d = axis; d < ys.size(); ++d) cols *= ys[d];
      layernorm_forward(in(0), y, rows, cols, in(1), in(2), n.floats[0]);
      return Status::Ok();
    }
    case OpKind::kBatchNorm: {
      int64_t inner = 1;
      for (size_t d = 2; d < ys.size(); ++d) inner *= ys[d];
      channel_affine_forward(in(0), y, ys[0], ys[1], inner, affine_[i].first.data(), affine_[i].second.data());
      return Status::Ok();
    }
    case OpKind::kMaxPool:
      if (inst.uint8[n.inputs[0]].scale != 0.0f)  // between int8 convolutions (plan_i8.h)
        max_pool_u8_forward(static_cast<const uint8_t*>(ptr[n.inputs[0]]), ishape(0), n.ints,
                            static_cast<uint8_t*>(ptr[n.outputs[0]]), ys);
      else
        max_pool_forward(in(0), ishape(0), n.ints, y, ys);
      return Status::Ok();
    case OpKind::kAvgPool: avg_pool_forward(in(0), ishape(0), n.ints, y, ys); return Status::Ok();
    case OpKind::kGlobalAvgPool: global_avg_pool_forward(in(0), ishape(0), y); return Status::Ok();
    case OpKind::kReshape:
      if (ptr[n.outputs[0]] != ptr[n.inputs[0]])
        std::memcpy(ptr[n.outputs[0]], ptr[n.inputs[0]],
                    static_cast<size_t>(numel_of(ys) * element_size(dt[n.outputs[0]])));
      return Status::Ok();
    case OpKind::kTranspose:
      transpose_forward(ptr[n.inputs[0]], ishape(0), n.ints, ptr[n.outputs[0]], element_size(dt[n.outputs[0]]));
      return Status::Ok();
    case OpKind::kConcat: {
      // Reused per thread: run allocates nothing once warm.
      thread_local std::vector<const void*> xs;
      thread_local std::vector<const Shape*> shapes;
      xs.clear();
      shapes.clear();
      for (int v : n.inputs) {
        xs.push_back(ptr[v]);
        shapes.push_back(&sh[v]);
      }
      int64_t axis = 0;
      normalize_axis(n.ints[0], ys.size(), &axis);
      concat_forward(xs, shapes, axis, ptr[n.outputs[0]], element_size(dt[n.outputs[0]]));
      return Status::Ok();
    }
    case OpKind::kSplit: {
      thread_local std::vector<void*> outs;
      thread_local std::vector<const Shape*> shapes;
      outs.clear();
      shapes.clear();
      for (int v : n.outputs) {
        outs.push_back(ptr[v]);
        shapes.push_back(&sh[v]);
      }
      int64_t axis = 0;
      normalize_axis(n.ints[0], ishape(0).size(), &axis);
      split_forward(ptr[n.inputs[0]], ishape(0), axis, outs, shapes, element_size(dt[n.inputs[0]]));
      return Status::Ok();
    }
    case OpKind::kSlice:
      slice_forward(ptr[n.inputs[0]], ishape(0), n.ints, ptr[n.outputs[0]], ys, element_size(dt[n.outputs[0]]));
      return Status::Ok();
    case OpKind::kGather: {
      int64_t axis = 0;
      normalize_axis(n.ints[0], ishape(0).size(), &axis);
      const Status st = gather_forward(ptr[n.inputs[0]], ishape(0), axis, static_cast<const int64_t*>(ptr[n.inputs[1]]),
                                       numel_of(ishape(1)), ptr[n.outputs[0]], element_size(dt[n.outputs[0]]));
      if (!st.ok()) return Status::InvalidArgument("node '" + n.name + "': " + st.message());
      return st;
    }
    case OpKind::kReduceMean: {
      const Shape& xs = ishape(0);
      uint32_t red = 0;
      for (size_t k = 1; k < n.ints.size(); ++k) {
        int64_t a = 0;
        normalize_axis(n.ints[k], xs.size(), &a);
        red |= 1u << a;
      }
      reduce_mean_forward(in(0), xs, red, y);
      return Status::Ok();
    }
    case OpKind::kCast:
      cast_forward(dt[n.inputs[0]], dt[n.outputs[0]], ptr[n.inputs[0]], ptr[n.outputs[0]], numel_of(ys));
      return Status::Ok();
    case OpKind::kAttention: {
      const Shape none;
      if (inst.nodes[i].bf16_attention) {
        attention_bf16_forward(!n.ints.empty(), in(0), ishape(0), in(1), ishape(1), in(2), ishape(2), in(3),
                               in(3) ? ishape(3) : none, n.floats[0], y, ws);
      } else if (!n.ints.empty()) {
        attention_bshd_forward(in(0), ishape(0), in(1), ishape(1), in(2), ishape(2), in(3), in(3) ? ishape(3) : none,
                               n.floats[0], y, ws);
      } else {
        attention_forward(in(0), ishape(0), in(1), ishape(1), in(2), ishape(2), in(3), in(3) ? ishape(3) : none,
                          n.floats[0], y, ws);
      }
      return Status::Ok();
    }
    default: return Status::InvalidArgument("node '" + n.name + "': unknown op");
  }
}

}  // namespace spiralkit
