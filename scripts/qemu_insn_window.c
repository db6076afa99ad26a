/* A qemu TCG plugin (user mode) for exact executed-instruction counts of a code window.
 *
 * Every guest instruction adds 1 to a counter (an inline add, so the count is exact, including
 * blocks left early). The counter is snapshotted when the instruction at `begin=` executes and
 * again at `end=`: the difference is what ran between the two marker calls (the caller subtracts
 * the count of an empty window). It also counts executions of each translated block that starts
 * inside [lo, hi) (the kernel's .text) and prints the hottest few (pc, instructions, executions):
 * the kernel's inner loop, which scripts/arm_instruction_counts.py hands to llvm-mca.
 *
 * Usage: qemu-aarch64 -plugin ./libqemu_insn_window.so,begin=0x..,end=0x..,lo=0x..,hi=0x.. prog
 * The plugin API is declared here (qemu's own header is not packaged by Debian); API version 1
 * is qemu 7.x's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void* userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb* tb);
extern struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn* insn);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn* insn, enum qemu_plugin_op op,
                                                       void* ptr, uint64_t imm);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb* tb, enum qemu_plugin_op op, void* ptr,
                                                     uint64_t imm);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn* insn, qemu_plugin_vcpu_udata_cb_t cb,
                                                   enum qemu_plugin_cb_flags flags, void* userdata);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);
extern void qemu_plugin_outs(const char* string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t total, at_begin, at_end, begin_pc, end_pc, lo, hi;
static int begins, ends;

struct block {
  uint64_t pc, n, execs;
  struct block* next;
};
static struct block* blocks;

static void on_begin(unsigned int vcpu, void* u) { (void)vcpu; (void)u; at_begin = total; ++begins; }
static void on_end(unsigned int vcpu, void* u) { (void)vcpu; (void)u; at_end = total; ++ends; }

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const uint64_t pc = qemu_plugin_insn_vaddr(insn);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
    if (pc == begin_pc) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == end_pc) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
  }
  const uint64_t pc = qemu_plugin_tb_vaddr(tb);
  if (pc >= lo && pc < hi) {
    struct block* b = calloc(1, sizeof(*b));
    b->pc = pc;
    b->n = n;
    b->next = blocks;
    blocks = b;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
  }
}

static void on_atexit(qemu_plugin_id_t id, void* u) {
  (void)id;
  (void)u;
  char line[256];
  snprintf(line, sizeof(line), "insn_window %llu begins %d ends %d\n", (unsigned long long)(at_end - at_begin),
           begins, ends);
  qemu_plugin_outs(line);
  for (int k = 0; k < 12; ++k) {  /* the twelve hottest blocks by instructions executed */
    struct block* best = NULL;
    for (struct block* b = blocks; b; b = b->next)
      if (b->execs && (!best || b->execs * b->n > best->execs * best->n)) best = b;
    if (!best) break;
    snprintf(line, sizeof(line), "hot_block pc 0x%llx insns %llu execs %llu\n", (unsigned long long)best->pc,
             (unsigned long long)best->n, (unsigned long long)best->execs);
    qemu_plugin_outs(line);
    best->execs = 0;
  }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                                               char** argv) {
  (void)info;
  for (int i = 0; i < argc; ++i) {
    const char* eq = strchr(argv[i], '=');
    if (!eq) continue;
    const uint64_t v = strtoull(eq + 1, NULL, 0);
    if (!strncmp(argv[i], "begin=", 6)) begin_pc = v;
    else if (!strncmp(argv[i], "end=", 4)) end_pc = v;
    else if (!strncmp(argv[i], "lo=", 3)) lo = v;
    else if (!strncmp(argv[i], "hi=", 3)) hi = v;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
  return 0;
}
