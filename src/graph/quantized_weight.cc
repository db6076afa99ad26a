#include "graph/quantized_weight.h"

#include <vector>

namespace spiralkit {

Status make_quantized_weight(std::shared_ptr<const PackedWeightI8> w, const QuantParams& x,
                             std::shared_ptr<const QuantizedWeight>* out,
                             std::shared_ptr<const PackedWeight>* dequantized) {
  if (!w) return Status::InvalidArgument("weight: null");
  auto q = std::make_shared<QuantizedWeight>();
  q->w = std::move(w);
  SPIRALKIT_RETURN_IF_ERROR(qlinear_plan(*q->w, x, &q->layer));
  if (dequantized) {
    const PackedWeightI8& qw = *q->w;
    std::vector<int8_t> iv(static_cast<size_t>(qw.rows * qw.cols));
    qw.to_dense(iv.data());
    std::vector<float> fv(iv.size());
    for (int64_t n = 0; n < qw.rows; ++n)
      for (int64_t k = 0; k < qw.cols; ++k) fv[n * qw.cols + k] = float(iv[n * qw.cols + k]) * qw.scales[n];
    // The fp32 twin keeps the int8 weight's zeros and pattern (shown by Engine.layers()); a weight
    // that does not follow its stated pattern packs unstructured, a pattern any zeros follow.
    std::unique_ptr<PackedWeight> packed;
    if (!pack_weight(fv.data(), qw.rows, qw.cols, qw.pattern, &packed).ok())
      SPIRALKIT_RETURN_IF_ERROR(pack_weight(fv.data(), qw.rows, qw.cols, Pattern{PatternKind::kUnstructured}, &packed));
    *dequantized = std::shared_ptr<const PackedWeight>(std::move(packed));
  }
  *out = std::move(q);
  return Status::Ok();
}

}  // namespace spiralkit

#include "graph/graph.h"

namespace spiralkit {

Status GraphBuilder::add_quantized_weight(std::shared_ptr<const QuantizedWeight> quant,
                                          std::shared_ptr<const PackedWeight> packed, const Shape& shape, int* id) {
  if (!quant || !quant->w) return Status::InvalidArgument("weight: null int8 weight");
  if (!packed || packed->rows != quant->w->rows || packed->cols != quant->w->cols)
    return Status::InvalidArgument("weight: the fp32 twin does not match the int8 weight's shape");
  SPIRALKIT_RETURN_IF_ERROR(add_weight(std::move(packed), shape, id));
  g_.weights[*id].quant = std::move(quant);
  return Status::Ok();
}

}  // namespace spiralkit
