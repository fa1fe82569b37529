// Vector units that run after the MAC array: REQ (requantisation), ADD (residual add) and
// MAXPOOL / AVGPOOL. Each is a small sequencer whose cycle count is the timing model's
// row for its instruction (docs/isa.md); memory reads are combinational (behavioural
// SRAMs in seedcc_accel), writes happen at the clock edge ending the cycle.

// The vector units REQ, ADD and MAXPOOL / AVGPOOL share this file (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
// REQ: one cycle per (channel o, pixel tile), in the foreground or in the background (the
// top level goes on issuing; docs/isa.md "Background units"): PIXELS requantisers take the
// PIXELS accumulators of channel o at pixels p..p+PIXELS-1, one word of the acc SRAM's bank
// (column) that holds them (docs/isa.md "Accumulator layout"), and channel o's REQ_RECORD_BYTES record
// (hwfacts.vh REQ_*_LO / _W: int32 bias, int16 mult, shift byte) and write PIXELS bytes at
// out_addr + o*out_plane + p. = oc_count * ceil(pix_count / PIXELS) execute cycles.
// With out_wide (an int32 graph output) the requantisers saturate to int32 and an item is
// ACC_BYTES cycles: cycle s writes bytes s*PIXELS.. of the item's ACC_BYTES*PIXELS bytes
// (little-endian words) at out_addr + ACC_BYTES*(o*out_plane + p), PIXELS bytes a cycle as
// the act SRAM takes them, while the acc SRAM's registered read holds the item's words and
// the read side waits; = ACC_BYTES * oc_count * ceil(pix_count / PIXELS) cycles.
// A record whose shift byte exceeds SHIFT_MAX (only a hand-made memory image has one: the
// compiler's record encoder rejects it) raises `err` for that cycle and writes nothing,
// and the top level stops; the reference model rejects the same record.
// The acc SRAM reads are registered: the read side runs one item ahead, the first read
// going out in the issue cycle (`start`), so that the words of item i are there in the
// unit's i-th cycle. So are the param SRAM's: a channel's record is read in the cycle
// before its first item. Its counters walk the layout with adds and compares only: column
// k*C + c of row acc_row + blk*T + t for tile group g = t*K + k (K = 2^rep_log2 copies,
// C = GROUP*(LANES >> rep_log2) columns a copy, T tile rows a block of C channels).
// Non-ANSI ports so that the widths can use isa.vh and hwfacts.vh.
module seedcc_req #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_acc_row,
  f_out_addr,
  f_oc_count,
  f_pix_count,
  f_out_plane,
  f_param_addr,
  f_relu,
  f_rep_log2,
  f_out_unsigned,
  f_out_wide,
  last,
  active,
  err,
  acc_rd,
  acc_rd_row,
  acc_rd_col,
  acc_rd_data,
  param_rd,
  param_rd_addr,
  param_rd_data,
  act_wr,
  act_wr_addr,
  act_wr_be,
  act_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  localparam integer NCH = GROUP * LANES;  // columns (banks) of the acc SRAM
  localparam integer COL_W = (NCH > 1) ? $clog2(NCH) : 1;
  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start;
  input  wire [F_ACC_ROW_W-1:0]        f_acc_row;
  input  wire [F_OUT_ADDR_W-1:0]       f_out_addr;
  input  wire [F_OC_COUNT_W-1:0]       f_oc_count;
  input  wire [F_PIX_COUNT_W-1:0]      f_pix_count;
  input  wire [F_OUT_PLANE_W-1:0]      f_out_plane;
  input  wire [F_PARAM_ADDR_W-1:0]     f_param_addr;
  input  wire                          f_relu;
  input  wire [F_REP_LOG2_W-1:0]       f_rep_log2;
  input  wire                          f_out_unsigned;
  input  wire                          f_out_wide;
  output wire                          last;
  output wire                          active;          // draining (its last cycle included)
  output wire                          err;             // this cycle's record is invalid
  output wire                          acc_rd;          // read the next item's words:
  output wire [F_ACC_ROW_W-1:0]        acc_rd_row;      //   this row
  output wire [COL_W-1:0]              acc_rd_col;      //   of this column (bank)
  input  wire [PIXELS*ACC_BITS-1:0]    acc_rd_data;     // the words read in the last cycle
  output wire                          param_rd;        // read one record (param SRAM word)
  output wire [F_PARAM_ADDR_W-1:0]     param_rd_addr;   //   here; the record read last is
  // The record's pad byte (REQ_PAD_LO) is ignored, as by the reference model.
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [REQ_RECORD_BYTES*8-1:0] param_rd_data;   //   here (held until the next read)
  /* verilator lint_on UNUSEDSIGNAL */
  output wire                          act_wr;
  output wire [F_OUT_ADDR_W-1:0]       act_wr_addr;     // PIXELS consecutive bytes
  output reg  [PIXELS-1:0]             act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]    act_wr_data;

  localparam [F_PIX_COUNT_W-1:0] PIX = PIXELS[F_PIX_COUNT_W-1:0];
  localparam [F_PARAM_ADDR_W-1:0] RECORD = REQ_RECORD_BYTES[F_PARAM_ADDR_W-1:0];
  localparam [REQ_SHIFT_W-1:0] SHIFT_LIMIT = SHIFT_MAX[REQ_SHIFT_W-1:0];
  localparam integer XW = 32;  // pixel-count comparisons against the PIXELS parameter
  // out_wide: an item's PIXELS int32 values are ACC_BYTES*PIXELS bytes, written PIXELS bytes a
  // cycle over ACC_BYTES cycles (the act SRAM's write width), the item's words held meanwhile
  localparam integer SUB_W = $clog2(ACC_BYTES);
  localparam [SUB_W-1:0] SUB_LAST = ACC_BYTES[SUB_W-1:0] - 1'b1;
  reg                       busy;
  reg [F_OC_COUNT_W-1:0]    o;
  reg [F_OC_COUNT_W-1:0]    r_oc;
  reg [F_PIX_COUNT_W-1:0]   r_pix_count;
  reg [F_OUT_PLANE_W-1:0]   r_out_plane;
  reg                       r_relu;
  reg                       r_uns;      // saturate to uint8
  reg                       r_wide;     // int32 values, ACC_BYTES bytes each
  reg [SUB_W-1:0]           sub;        // with r_wide: the quarter of the item's bytes written
  reg [F_PIX_COUNT_W-1:0]   p0;
  reg [F_OUT_ADDR_W-1:0]    out_base;
  reg [F_PARAM_ADDR_W-1:0]  prm;

  wire [REQ_SHIFT_W-1:0] rec_shift = param_rd_data[REQ_SHIFT_LO +: REQ_SHIFT_W];
  wire last_tile = ({{(XW-F_PIX_COUNT_W){1'b0}}, p0} + PIXELS)
                   >= {{(XW-F_PIX_COUNT_W){1'b0}}, r_pix_count};
  wire adv = !r_wide || (sub == SUB_LAST);  // the item's last cycle: go on to the next
  assign err = busy && (rec_shift > SHIFT_LIMIT);
  assign last = busy && adv && last_tile && (o == r_oc - 1'b1);
  assign active = busy;
  // channel o's record is read in the cycle before its first item (channel 0's in the
  // issue cycle) and used in all its items; none is read in the last cycle
  assign param_rd = start || (busy && adv && last_tile && !last);
  assign param_rd_addr = start ? f_param_addr : prm + RECORD;
  assign act_wr = busy && !err;
  // byte p0 of the channel, or with r_wide byte ACC_BYTES*p0 + sub*PIXELS
  wire [F_OUT_ADDR_W-1:0] p0_x = {{(F_OUT_ADDR_W-F_PIX_COUNT_W){1'b0}}, p0};
  wire [F_OUT_ADDR_W-1:0] sub_x = {{(F_OUT_ADDR_W-SUB_W){1'b0}}, sub};
  assign act_wr_addr = out_base + (r_wide ? (p0_x << SUB_W) + sub_x * PIXELS[F_OUT_ADDR_W-1:0] : p0_x);

  // ---- read side: the acc SRAM address of the next item ------------------------------
  // state of an item: channel c within its block of C, copy k, tile row t within the block,
  // the block's first row (blk*T), pixel q0 = g*PIXELS, column k*C
  reg [F_OC_COUNT_W-1:0]  rc, rcols;      // rcols: C of this REQ
  reg [F_REP_LOG2_W-1:0]  rk, rkmax;      // rkmax: K - 1
  reg [F_ACC_ROW_W-1:0]   rt, rblk, rrow0;
  reg [F_PIX_COUNT_W-1:0] rq0, rpc;
  reg [COL_W-1:0]         rcolk;
  // C = GROUP * (LANES >> r) and K - 1 = 2^r - 1, for r = rep_log2 (shifts of constants)
  function [F_OC_COUNT_W-1:0] cols_of(input [F_REP_LOG2_W-1:0] r);
    cols_of = GROUP[F_OC_COUNT_W-1:0] * (LANES[F_OC_COUNT_W-1:0] >> r);
  endfunction
  function [F_REP_LOG2_W-1:0] kmax_of(input [F_REP_LOG2_W-1:0] r);
    kmax_of = ({{(F_REP_LOG2_W-1){1'b0}}, 1'b1} << r) - 1'b1;
  endfunction
  // the item to read now: the first one in the issue cycle, else the registers
  wire [F_OC_COUNT_W-1:0]  cols_m = start ? cols_of(f_rep_log2) : rcols;
  wire [F_REP_LOG2_W-1:0]  kmax_m = start ? kmax_of(f_rep_log2) : rkmax;
  wire [F_PIX_COUNT_W-1:0] pc_m = start ? f_pix_count : rpc;
  wire [F_ACC_ROW_W-1:0]   row0_m = start ? f_acc_row : rrow0;
  wire [F_OC_COUNT_W-1:0]  c_m = start ? {F_OC_COUNT_W{1'b0}} : rc;
  wire [F_REP_LOG2_W-1:0]  k_m = start ? {F_REP_LOG2_W{1'b0}} : rk;
  wire [F_ACC_ROW_W-1:0]   t_m = start ? {F_ACC_ROW_W{1'b0}} : rt;
  wire [F_ACC_ROW_W-1:0]   blk_m = start ? {F_ACC_ROW_W{1'b0}} : rblk;
  wire [F_PIX_COUNT_W-1:0] q0_m = start ? {F_PIX_COUNT_W{1'b0}} : rq0;
  wire [COL_W-1:0]         colk_m = start ? {COL_W{1'b0}} : rcolk;
  assign acc_rd = start || (busy && adv);
  assign acc_rd_row = row0_m + blk_m + t_m;
  assign acc_rd_col = colk_m + c_m[COL_W-1:0];
  wire g_last = ({{(XW-F_PIX_COUNT_W){1'b0}}, q0_m} + PIXELS) >= {{(XW-F_PIX_COUNT_W){1'b0}}, pc_m};
  always @(posedge clk) begin
    if (acc_rd) begin
      rcols <= cols_m;
      rkmax <= kmax_m;
      rpc <= pc_m;
      rrow0 <= row0_m;
      if (g_last) begin  // the channel's last tile group: the next channel
        rq0 <= {F_PIX_COUNT_W{1'b0}};
        rk <= {F_REP_LOG2_W{1'b0}};
        rt <= {F_ACC_ROW_W{1'b0}};
        rcolk <= {COL_W{1'b0}};
        if (c_m == cols_m - 1'b1) begin  // ... of the next block, T = t + 1 rows on
          rc <= {F_OC_COUNT_W{1'b0}};
          rblk <= blk_m + t_m + 1'b1;
        end else begin
          rc <= c_m + 1'b1;
          rblk <= blk_m;
        end
      end else begin
        rq0 <= q0_m + PIX;
        rc <= c_m;
        rblk <= blk_m;
        if (k_m == kmax_m) begin
          rk <= {F_REP_LOG2_W{1'b0}};
          rt <= t_m + 1'b1;
          rcolk <= {COL_W{1'b0}};
        end else begin
          rk <= k_m + 1'b1;
          rt <= t_m;
          rcolk <= colk_m + cols_m[COL_W-1:0];
        end
      end
    end
  end

  // byte p is of pixel p0 + p, or with r_wide of pixel p0 + (sub*PIXELS + p) / ACC_BYTES
  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_PIX_COUNT_W){1'b0}}, p0}
                    + (r_wide ? (({{(XW-SUB_W){1'b0}}, sub} * PIXELS + p) >> SUB_W) : p))
                   < {{(XW-F_PIX_COUNT_W){1'b0}}, r_pix_count};
  wire [PIXELS*ACT_BITS-1:0]           narrow;
  wire [ACC_BYTES*PIXELS*ACT_BITS-1:0] words;   // the item's int32 values, little-endian
  assign act_wr_data = r_wide ? words[sub*PIXELS*ACT_BITS +: PIXELS*ACT_BITS] : narrow;

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      seedcc_requant u_rq (
        .acc(acc_rd_data[g*ACC_BITS +: ACC_BITS]),
        .bias(param_rd_data[REQ_BIAS_LO +: REQ_BIAS_W]),
        .mult(param_rd_data[REQ_MULT_LO +: REQ_MULT_W]),
        .shift(rec_shift[SHIFT_BITS-1:0]),
        .relu(r_relu),
        .uns(r_uns),
        .out(narrow[g*ACT_BITS +: ACT_BITS]),
        .out_wide(words[g*ACC_BITS +: ACC_BITS])
      );
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      o <= {F_OC_COUNT_W{1'b0}};
      p0 <= {F_PIX_COUNT_W{1'b0}};
      r_oc <= f_oc_count;
      r_pix_count <= f_pix_count;
      r_out_plane <= f_out_plane;
      r_relu <= f_relu;
      r_uns <= f_out_unsigned;
      r_wide <= f_out_wide;
      sub <= {SUB_W{1'b0}};
      out_base <= f_out_addr;
      prm <= f_param_addr;
    end else if (busy) begin
      if (last || err) busy <= 1'b0;
      if (r_wide) sub <= sub + 1'b1;  // wraps to 0 after the item's last cycle
      if (adv && last_tile) begin
        p0 <= {F_PIX_COUNT_W{1'b0}};
        o <= o + 1'b1;
        out_base <= out_base + ({{(F_OUT_ADDR_W-F_OUT_PLANE_W){1'b0}}, r_out_plane} << (r_wide ? SUB_W : 0));
        prm <= prm + RECORD;
      end else if (adv) begin
        p0 <= p0 + PIX;
      end
    end
  end
endmodule

// ADD: one cycle per PIXELS elements: out[e] = sat8(relu?(round_shift(a[e]*mult_a +
// b[e]*mult_b, shift))) = ceil(length / PIXELS) execute cycles.
module seedcc_add #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_a_addr,
  f_b_addr,
  f_out_addr,
  f_length,
  f_mult_a,
  f_mult_b,
  f_shift,
  f_relu,
  f_a_unsigned,
  f_b_unsigned,
  f_out_unsigned,
  last,
  a_rd_addr,
  a_rd_data,
  b_rd_addr,
  b_rd_data,
  act_wr,
  act_wr_addr,
  act_wr_be,
  act_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire                              clk;
  input  wire                              rst_n;
  input  wire                              start;
  input  wire [F_A_ADDR_W-1:0]             f_a_addr;
  input  wire [F_B_ADDR_W-1:0]             f_b_addr;
  input  wire [F_OUT_ADDR_W-1:0]           f_out_addr;
  input  wire [F_LENGTH_W-1:0]             f_length;
  input  wire signed [F_MULT_A_W-1:0]      f_mult_a;
  input  wire signed [F_MULT_B_W-1:0]      f_mult_b;
  input  wire [F_SHIFT_W-1:0]              f_shift;
  input  wire                              f_relu;
  input  wire                              f_a_unsigned;
  input  wire                              f_b_unsigned;
  input  wire                              f_out_unsigned;
  output wire                              last;
  output wire [F_A_ADDR_W-1:0]             a_rd_addr;      // PIXELS consecutive bytes each
  input  wire [PIXELS*ACT_BITS-1:0]        a_rd_data;
  output wire [F_B_ADDR_W-1:0]             b_rd_addr;
  input  wire [PIXELS*ACT_BITS-1:0]        b_rd_data;
  output wire                              act_wr;
  output wire [F_OUT_ADDR_W-1:0]           act_wr_addr;
  output reg  [PIXELS-1:0]                 act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]        act_wr_data;

  localparam [F_LENGTH_W-1:0] PIX = PIXELS[F_LENGTH_W-1:0];
  localparam integer XW = 32;  // element-count comparisons against the PIXELS parameter
  reg                          busy;
  reg [F_LENGTH_W-1:0]         e0;
  reg [F_A_ADDR_W-1:0]         r_a;
  reg [F_B_ADDR_W-1:0]         r_b;
  reg [F_OUT_ADDR_W-1:0]       r_out;
  reg [F_LENGTH_W-1:0]         r_len;
  reg signed [MULT_BITS-1:0]   r_ma, r_mb;
  reg [SHIFT_BITS-1:0]         r_shift;
  reg                          r_relu;
  reg                          r_au, r_bu, r_ou;  // a, b, out are uint8

  assign last = busy && ({{(XW-F_LENGTH_W){1'b0}}, e0} + PIXELS >= {{(XW-F_LENGTH_W){1'b0}}, r_len});
  assign a_rd_addr = r_a + e0;
  assign b_rd_addr = r_b + e0;
  assign act_wr = busy;
  assign act_wr_addr = r_out + e0;

  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_LENGTH_W){1'b0}}, e0} + p) < {{(XW-F_LENGTH_W){1'b0}}, r_len};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      // each byte extended to 9 bits: its top bit is the sign of an int8, 0 for a uint8
      wire signed [ACT_BITS:0]    a = {a_rd_data[g*ACT_BITS + ACT_BITS-1] & ~r_au, a_rd_data[g*ACT_BITS +: ACT_BITS]};
      wire signed [ACT_BITS:0]    b = {b_rd_data[g*ACT_BITS + ACT_BITS-1] & ~r_bu, b_rd_data[g*ACT_BITS +: ACT_BITS]};
      wire signed [WIDE_BITS-1:0] t =
          {{(WIDE_BITS-ACT_BITS-1){a[ACT_BITS]}}, a} * {{(WIDE_BITS-MULT_BITS){r_ma[MULT_BITS-1]}}, r_ma}
          + {{(WIDE_BITS-ACT_BITS-1){b[ACT_BITS]}}, b} * {{(WIDE_BITS-MULT_BITS){r_mb[MULT_BITS-1]}}, r_mb};
      seedcc_round_sat u_rs (.v(t), .shift(r_shift), .relu(r_relu), .uns(r_ou),
                             .out(act_wr_data[g*ACT_BITS +: ACT_BITS]));
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      e0 <= {F_LENGTH_W{1'b0}};
      r_a <= f_a_addr;
      r_b <= f_b_addr;
      r_out <= f_out_addr;
      r_len <= f_length;
      r_ma <= f_mult_a;
      r_mb <= f_mult_b;
      r_shift <= f_shift;
      r_relu <= f_relu;
      r_au <= f_a_unsigned;
      r_bu <= f_b_unsigned;
      r_ou <= f_out_unsigned;
    end else if (busy) begin
      e0 <= e0 + PIX;
      if (last) busy <= 1'b0;
    end
  end
endmodule

// MAXPOOL / AVGPOOL: PIXELS output lanes, lane q on column ox0 + q of one output row. Per
// group of PIXELS outputs (channel outer, then oy, then ox0 in steps of PIXELS) kh*kw window
// cycles, each reading one input activation a lane (ky outer, kx inner; positions outside
// the input are skipped: padding never wins a max and adds nothing to a sum), then one
// cycle writing the group's outputs (byte enables for the lanes past out_w).
// = channels * out_h * ceil(out_w / PIXELS) * (kh*kw + 1) execute cycles. Each lane's
// running max starts at ACT_MIN; its window sum is ACC_BITS wide.
module seedcc_pool #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  is_avg,
  f_in_addr,
  f_out_addr,
  f_channels,
  f_in_h,
  f_in_w,
  f_out_h,
  f_out_w,
  f_kh,
  f_kw,
  f_stride_h,
  f_stride_w,
  f_pad_t,
  f_pad_l,
  f_mult,
  f_shift,
  f_in_unsigned,
  last,
  act_rd_addr,
  act_rd_data,
  act_wr,
  act_wr_addr,
  act_wr_be,
  act_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire                         clk;
  input  wire                         rst_n;
  input  wire                         start;
  input  wire                         is_avg;
  input  wire [F_IN_ADDR_W-1:0]       f_in_addr;
  input  wire [F_OUT_ADDR_W-1:0]      f_out_addr;
  input  wire [F_CHANNELS_W-1:0]      f_channels;
  input  wire [F_IN_H_W-1:0]          f_in_h;
  input  wire [F_IN_W_W-1:0]          f_in_w;
  input  wire [F_OUT_H_W-1:0]         f_out_h;
  input  wire [F_OUT_W_W-1:0]         f_out_w;
  input  wire [F_KH_W-1:0]            f_kh;
  input  wire [F_KW_W-1:0]            f_kw;
  input  wire [F_STRIDE_H_W-1:0]      f_stride_h;
  input  wire [F_STRIDE_W_W-1:0]      f_stride_w;
  input  wire [F_PAD_T_W-1:0]         f_pad_t;
  input  wire [F_PAD_L_W-1:0]         f_pad_l;
  input  wire signed [F_MULT_W-1:0]   f_mult;
  input  wire [F_SHIFT_W-1:0]         f_shift;
  input  wire                         f_in_unsigned;
  output wire                         last;
  output reg  [PIXELS*F_IN_ADDR_W-1:0] act_rd_addr;
  input  wire [PIXELS*ACT_BITS-1:0]   act_rd_data;
  output wire                         act_wr;
  output wire [F_OUT_ADDR_W-1:0]      act_wr_addr;
  output wire [PIXELS-1:0]            act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]   act_wr_data;

  localparam integer XY_W = 32;  // signed window-coordinate arithmetic
  // the running max starts at the smallest value of the input's format: ACT_MIN, or 0 for uint8
  localparam signed [ACT_BITS:0] MAX_INIT = ACT_MIN[ACT_BITS:0];
  localparam [F_OUT_W_W-1:0] PIX = PIXELS[F_OUT_W_W-1:0];
  reg                          busy, avg, wphase;
  reg [F_CHANNELS_W-1:0]       c, r_ch;
  reg [F_OUT_H_W-1:0]          oy, r_oh;
  reg [F_OUT_W_W-1:0]          ox0, r_ow;
  reg [F_IN_H_W-1:0]           r_in_h;
  reg [F_IN_W_W-1:0]           r_in_w;
  reg [F_KH_W-1:0]             ky, r_kh;
  reg [F_KW_W-1:0]             kx, r_kw;
  reg [F_STRIDE_H_W-1:0]       r_sh;
  reg [F_STRIDE_W_W-1:0]       r_sw;
  reg [F_PAD_T_W-1:0]          r_pt;
  reg [F_PAD_L_W-1:0]          r_pl;
  reg signed [MULT_BITS-1:0]   r_mult;
  reg [SHIFT_BITS-1:0]         r_shift;
  reg [F_IN_ADDR_W-1:0]        chan_base, r_plane;
  reg [F_OUT_ADDR_W-1:0]       out_ptr;
  reg                          r_uns;     // input (and output) bytes are uint8
  reg signed [ACT_BITS:0]      vmax [0:PIXELS-1];  // 9-bit: int8 or uint8 values
  reg signed [ACC_BITS-1:0]    vsum [0:PIXELS-1];
  wire signed [ACT_BITS:0]     xe [0:PIXELS-1];

  // the row's remaining columns from ox0: the lanes in use are those below it
  wire [F_OUT_W_W-1:0] left = r_ow - ox0;
  wire last_group = left <= PIX;
  wire signed [XY_W-1:0] iy = $signed({{(XY_W-F_OUT_H_W){1'b0}}, oy}) * $signed({{(XY_W-F_STRIDE_H_W){1'b0}}, r_sh})
                              - $signed({{(XY_W-F_PAD_T_W){1'b0}}, r_pt}) + $signed({{(XY_W-F_KH_W){1'b0}}, ky});
  wire row_in = (iy >= 0) && (iy < $signed({{(XY_W-F_IN_H_W){1'b0}}, r_in_h}));
  reg signed [XY_W-1:0] ix [0:PIXELS-1];
  reg [PIXELS-1:0] inb, lane_on;
  integer q;
  always @* begin
    for (q = 0; q < PIXELS; q = q + 1) begin
      ix[q] = ($signed({{(XY_W-F_OUT_W_W){1'b0}}, ox0}) + q) * $signed({{(XY_W-F_STRIDE_W_W){1'b0}}, r_sw})
              - $signed({{(XY_W-F_PAD_L_W){1'b0}}, r_pl}) + $signed({{(XY_W-F_KW_W){1'b0}}, kx});
      lane_on[q] = q < {{(32-F_OUT_W_W){1'b0}}, left};
      inb[q] = lane_on[q] && row_in && (ix[q] >= 0)
               && (ix[q] < $signed({{(XY_W-F_IN_W_W){1'b0}}, r_in_w}));
      act_rd_addr[q*F_IN_ADDR_W +: F_IN_ADDR_W] =
          inb[q] ? chan_base + iy[F_IN_ADDR_W-1:0] * {{(F_IN_ADDR_W-F_IN_W_W){1'b0}}, r_in_w}
                   + ix[q][F_IN_ADDR_W-1:0]
                 : {F_IN_ADDR_W{1'b0}};
    end
  end

  wire win_last = (ky == r_kh - 1'b1) && (kx == r_kw - 1'b1);
  wire no_window = ~|f_kh || ~|f_kw;
  wire last_elem = (c == r_ch - 1'b1) && (oy == r_oh - 1'b1) && last_group;
  assign last = busy && wphase && last_elem;
  assign act_wr = busy && wphase;
  assign act_wr_addr = out_ptr;
  assign act_wr_be = lane_on;

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [WIDE_BITS-1:0] scaled = {{(WIDE_BITS-ACC_BITS){vsum[g][ACC_BITS-1]}}, vsum[g]}
                                           * {{(WIDE_BITS-MULT_BITS){r_mult[MULT_BITS-1]}}, r_mult};
      wire signed [ACT_BITS-1:0]  avg_out;
      seedcc_round_sat u_rs (.v(scaled), .shift(r_shift), .relu(1'b0), .uns(r_uns), .out(avg_out));
      assign act_wr_data[g*ACT_BITS +: ACT_BITS] = avg ? avg_out : vmax[g][ACT_BITS-1:0];
      // the byte read, extended to 9 bits: its top bit is the sign of an int8, 0 for a uint8
      assign xe[g] = {act_rd_data[g*ACT_BITS + ACT_BITS-1] & ~r_uns, act_rd_data[g*ACT_BITS +: ACT_BITS]};
    end
  endgenerate

  integer u;
  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      avg <= is_avg;
      wphase <= no_window;
      c <= {F_CHANNELS_W{1'b0}};
      oy <= {F_OUT_H_W{1'b0}};
      ox0 <= {F_OUT_W_W{1'b0}};
      ky <= {F_KH_W{1'b0}};
      kx <= {F_KW_W{1'b0}};
      r_ch <= f_channels;
      r_in_h <= f_in_h;
      r_in_w <= f_in_w;
      r_oh <= f_out_h;
      r_ow <= f_out_w;
      r_kh <= f_kh;
      r_kw <= f_kw;
      r_sh <= f_stride_h;
      r_sw <= f_stride_w;
      r_pt <= f_pad_t;
      r_pl <= f_pad_l;
      r_mult <= f_mult;
      r_shift <= f_shift;
      r_uns <= f_in_unsigned;
      r_plane <= {{(F_IN_ADDR_W-F_IN_H_W){1'b0}}, f_in_h} * {{(F_IN_ADDR_W-F_IN_W_W){1'b0}}, f_in_w};
      chan_base <= f_in_addr;
      out_ptr <= f_out_addr;
      for (u = 0; u < PIXELS; u = u + 1) begin
        vmax[u] <= f_in_unsigned ? {(ACT_BITS+1){1'b0}} : MAX_INIT;
        vsum[u] <= {ACC_BITS{1'b0}};
      end
    end else if (busy) begin
      if (!wphase) begin
        for (u = 0; u < PIXELS; u = u + 1)
          if (inb[u]) begin
            if (xe[u] > vmax[u])
              vmax[u] <= xe[u];
            vsum[u] <= vsum[u] + {{(ACC_BITS-ACT_BITS-1){xe[u][ACT_BITS]}}, xe[u]};
          end
        if (win_last) begin
          wphase <= 1'b1;
        end else if (kx == r_kw - 1'b1) begin
          kx <= {F_KW_W{1'b0}};
          ky <= ky + 1'b1;
        end else begin
          kx <= kx + 1'b1;
        end
      end else begin
        // write cycle: the group's outputs are on act_wr_data; move to the next group
        for (u = 0; u < PIXELS; u = u + 1) begin
          vmax[u] <= r_uns ? {(ACT_BITS+1){1'b0}} : MAX_INIT;
          vsum[u] <= {ACC_BITS{1'b0}};
        end
        ky <= {F_KH_W{1'b0}};
        kx <= {F_KW_W{1'b0}};
        wphase <= ~|r_kh || ~|r_kw;
        out_ptr <= out_ptr + (last_group ? {{(F_OUT_ADDR_W-F_OUT_W_W){1'b0}}, left}
                                         : {{(F_OUT_ADDR_W-F_OUT_W_W){1'b0}}, PIX});
        if (last) busy <= 1'b0;
        if (last_group) begin
          ox0 <= {F_OUT_W_W{1'b0}};
          if (oy == r_oh - 1'b1) begin
            oy <= {F_OUT_H_W{1'b0}};
            c <= c + 1'b1;
            chan_base <= chan_base + r_plane;
          end else begin
            oy <= oy + 1'b1;
          end
        end else begin
          ox0 <= ox0 + PIX;
        end
      end
    end
  end
endmodule
/* verilator lint_on DECLFILENAME */
