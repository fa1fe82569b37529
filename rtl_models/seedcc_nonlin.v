// Integer nonlinearities of the attention block (docs/isa.md; golden rules in
// rtl_models/numerics.py, after I-BERT, Kim et al., ICML 2021): SOFTMAX and LAYERNORM reduce
// over `features` for PIXELS consecutive tokens at a time (feature-major tensors: x[f][t] at
// in_addr + f*in_plane + t, so one wide read a cycle), GELU is elementwise. No divider:
// 1/sum, the square root and 1/root are bit-serial iterations of adders and shifts, a fixed
// number of cycles each, so every instruction takes exactly its ISA-table cycle rule.
// Memory reads are combinational (behavioural SRAMs in seedcc_accel), writes happen at the
// clock edge ending the cycle; a write and the read of the same byte in one cycle make
// in-place operation (out_addr = in_addr, equal planes) exact.
// Non-ANSI ports so that the widths can use isa.vh and hwfacts.vh.
//
// Every intermediate is as wide as the values the ISA lets it hold (bounds next to each
// signal, from the field widths of isa.vh and the facts of hwfacts.vh), so that no
// multiplication has an operand wider than the requantiser's ((acc + bias), 33 bits, x the
// 16-bit multiplier; seedcc/synth.py compares narrow with narrow and wide with wide); the
// wider products are split into partial products that are (said where). The bounds hold for
// any operand values, so the results are those of the 64-bit rules of numerics.py.

// The attention block's nonlinear units and their helpers share this file (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
// round_shift(v, s) = (v + 2^(s-1)) >>> s (s > 0), v (s = 0), of a W-bit v, for every shift
// 0..SHIFT_MAX. For s < W the sum fits W + 1 bits (|v| <= 2^(W-1), 2^(s-1) <= 2^(W-2)) and
// the result W bits; for s >= W the result is 0 (v + 2^(s-1) lies in [0, 2^s)).
module seedcc_round_shift #(
  parameter integer W = 64
) (
  v,
  shift,
  out
);
`include "hwfacts.vh"
  input  wire signed [W-1:0]   v;
  input  wire [SHIFT_BITS-1:0] shift;
  output wire signed [W-1:0]   out;
  localparam signed [W:0] ONE = 1;
  localparam [SHIFT_BITS:0] SW = W[SHIFT_BITS:0];
  wire signed [W:0] half = ~|shift ? {(W+1){1'b0}} : (ONE <<< (shift - 1'b1));
  wire signed [W:0] sum = {v[W-1], v} + half;
  /* verilator lint_off UNUSEDSIGNAL */  // r[W] is a copy of r[W-1]: |r| <= 2^(W-1)
  wire signed [W:0] r = sum >>> shift;
  /* verilator lint_on UNUSEDSIGNAL */
  assign out = ({1'b0, shift} >= SW) ? {W{1'b0}} : r[W-1:0];
endmodule

// i-exp of d = x - mx: e = ((EXP_B - r)^2 + EXP_C) >> min(z, EXP_Z_MAX) with
// -round_shift(d * in_mult, in_shift) = z * 2^EXP_FRAC_BITS + r (numerics.iexp), for any
// int8 x and mx (SOFTMAX uses it with mx = max, d <= 0).
module seedcc_iexp (
  x,
  mx,
  in_mult,
  in_shift,
  e
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire signed [ACT_BITS-1:0] x;
  input  wire signed [ACT_BITS-1:0] mx;
  input  wire [F_IN_MULT_W-1:0]     in_mult;
  input  wire [F_IN_SHIFT_W-1:0]    in_shift;
  output wire [EXP_E_BITS-1:0]      e;           // e <= EXP_B^2 + EXP_C < 2^EXP_E_BITS
  localparam integer ZW = 6;                     // shift amounts up to EXP_Z_MAX
  localparam integer DW = ACT_BITS + 1;          // d in [-255, 255]
  localparam integer TW = DW + F_IN_MULT_W;      // |d * in_mult| <= 255 (2^16 - 1) < 2^24
  localparam integer UW = $clog2(EXP_B + 1);     // u = EXP_B - r in [EXP_B - 1023, EXP_B]
  localparam signed [TW-1:0] ZMAX = EXP_Z_MAX[TW-1:0];
  localparam [UW-1:0] B = EXP_B[UW-1:0];
  localparam [EXP_E_BITS-1:0] C = EXP_C[EXP_E_BITS-1:0];
  wire signed [DW-1:0] d = {x[ACT_BITS-1], x} - {mx[ACT_BITS-1], mx};
  wire signed [TW-1:0] dm = d * $signed({1'b0, in_mult});     // 9 x 17 bits
  wire signed [TW-1:0] t;                                      // |t| <= |dm| < 2^24
  seedcc_round_shift #(.W(TW)) u_rs (.v(dm), .shift(in_shift), .out(t));
  wire signed [TW-1:0] nt = -t;
  wire signed [TW-1:0] z_full = nt >>> EXP_FRAC_BITS;
  wire [ZW-1:0] z = (z_full > ZMAX) ? ZMAX[ZW-1:0] : z_full[ZW-1:0];
  wire [UW-1:0] u = B - {{(UW-EXP_FRAC_BITS){1'b0}}, nt[EXP_FRAC_BITS-1:0]};  // r = nt mod 2^N
  wire [EXP_E_BITS-1:0] e0 = u * u + C;                        // 11 x 11 bits
  assign e = e0 >> z;
endmodule

// SOFTMAX: per tile of PIXELS tokens, `features` cycles of running max, `features` cycles
// of exp-sum, SM_RECIP_STEPS cycles of restoring division recip = floor(2^SM_RECIP_BITS /
// sum) (the remainder starts at 2^(SM_RECIP_BITS - SM_RECIP_STEPS) < sum), `features`
// cycles writing min(SM_OUT_MAX, round_shift(e * recip, SM_RECIP_BITS - SM_OUT_BITS)).
// Widths: e < 2^EXP_E_BITS (23), sum of up to 2^16 - 1 of them < 2^39, the remainder at most
// 2^SM_RECIP_BITS whatever the sum (it starts at 2^22 and at most doubles in each of the 18
// steps), recip < 2^SM_RECIP_STEPS; e * recip (23 x 18 bits) is two partial products,
// e * recip[15:0] and e * recip[17:16].
module seedcc_softmax #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_in_addr,
  f_out_addr,
  f_tokens,
  f_features,
  f_in_plane,
  f_out_plane,
  f_in_mult,
  f_in_shift,
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
  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start;
  input  wire [F_IN_ADDR_W-1:0]        f_in_addr;
  input  wire [F_OUT_ADDR_W-1:0]       f_out_addr;
  input  wire [F_TOKENS_W-1:0]         f_tokens;
  input  wire [F_FEATURES_W-1:0]       f_features;
  input  wire [F_IN_PLANE_W-1:0]       f_in_plane;
  input  wire [F_OUT_PLANE_W-1:0]      f_out_plane;
  input  wire [F_IN_MULT_W-1:0]        f_in_mult;
  input  wire [F_IN_SHIFT_W-1:0]       f_in_shift;
  output wire                          last;
  output wire [F_IN_ADDR_W-1:0]        act_rd_addr;   // PIXELS consecutive bytes
  input  wire [PIXELS*ACT_BITS-1:0]    act_rd_data;
  output wire                          act_wr;
  output wire [F_OUT_ADDR_W-1:0]       act_wr_addr;
  output reg  [PIXELS-1:0]             act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]    act_wr_data;

  localparam integer XW = 32;
  localparam [1:0] P_MAX = 2'd0, P_SUM = 2'd1, P_DIV = 2'd2, P_OUT = 2'd3;
  localparam integer SW = F_FEATURES_W + EXP_E_BITS;   // sum: < 2^16 terms, each < 2^23
  localparam integer RW = SM_RECIP_BITS + 1;           // remainder: at most 2^SM_RECIP_BITS
  localparam integer QW = SM_RECIP_STEPS;              // recip: SM_RECIP_STEPS quotient bits
  localparam integer QLO = MULT_BITS;                  // recip[QLO-1:0], recip[QW-1:QLO]
  localparam integer PW = EXP_E_BITS + QW;             // e * recip < 2^41
  localparam integer OUT_SHIFT = SM_RECIP_BITS - SM_OUT_BITS;
  localparam integer OW = PW + 1 - OUT_SHIFT;          // round_shift(e * recip) < 2^10
  localparam [RW-1:0] ONE = 1;
  localparam [RW-1:0] REM0 = ONE << (SM_RECIP_BITS - SM_RECIP_STEPS);
  localparam [PW:0] HALF = {{PW{1'b0}}, 1'b1} << (OUT_SHIFT - 1);
  localparam [OW-1:0] OUT_MAX = SM_OUT_MAX[OW-1:0];
  reg                       busy;
  reg [1:0]                 phase;
  reg [F_FEATURES_W-1:0]    f;        // feature (or divider step)
  reg [F_TOKENS_W-1:0]      t0;       // first token of the tile
  reg [F_IN_ADDR_W-1:0]     r_in;
  reg [F_OUT_ADDR_W-1:0]    r_out;
  reg [F_TOKENS_W-1:0]      r_tokens;
  reg [F_FEATURES_W-1:0]    r_features;
  reg [F_IN_PLANE_W-1:0]    r_in_plane;
  reg [F_OUT_PLANE_W-1:0]   r_out_plane;
  reg [F_IN_MULT_W-1:0]     r_in_mult;
  reg [F_IN_SHIFT_W-1:0]    r_in_shift;
  reg [F_IN_ADDR_W-1:0]     rptr;     // x[f][t0]
  reg [F_OUT_ADDR_W-1:0]    wptr;     // out[f][t0]

  wire [XW-1:0] fx = {{(XW-F_FEATURES_W){1'b0}}, f};
  wire pass_end = (phase == P_DIV) ? (fx + 1 >= SM_RECIP_STEPS)
                                   : (fx + 1 >= {{(XW-F_FEATURES_W){1'b0}}, r_features});
  wire last_tile = ({{(XW-F_TOKENS_W){1'b0}}, t0} + PIXELS) >= {{(XW-F_TOKENS_W){1'b0}}, r_tokens};
  assign last = busy && phase == P_OUT && pass_end && last_tile;
  assign act_rd_addr = rptr;
  assign act_wr = busy && phase == P_OUT;
  assign act_wr_addr = wptr;
  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_TOKENS_W){1'b0}}, t0} + p) < {{(XW-F_TOKENS_W){1'b0}}, r_tokens};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [ACT_BITS-1:0] x = act_rd_data[g*ACT_BITS +: ACT_BITS];
      reg signed [ACT_BITS-1:0]  mx;
      reg [SW-1:0] sum;
      reg [RW-1:0] rem;
      reg [QW-1:0] recip;
      wire [EXP_E_BITS-1:0] e;
      seedcc_iexp u_exp (.x(x), .mx(mx), .in_mult(r_in_mult), .in_shift(r_in_shift), .e(e));
      wire [RW-1:0] rem2 = rem << 1;   // at most 2^SM_RECIP_BITS in the steps that use it
      wire take = rem2 >= {{(RW-SW){1'b0}}, sum};
      // e * recip as two partial products (23 x 16 and 23 x 2 bits), then the rounding shift
      wire [PW-1:0] prod = e * recip[QLO-1:0] + ((e * recip[QW-1:QLO]) << QLO);
      /* verilator lint_off UNUSEDSIGNAL */  // the bits below the shift
      wire [PW:0] rounded = {1'b0, prod} + HALF;
      /* verilator lint_on UNUSEDSIGNAL */
      wire [OW-1:0] q = rounded[PW:OUT_SHIFT];
      wire [ACT_BITS-1:0] qc = (q > OUT_MAX) ? OUT_MAX[ACT_BITS-1:0] : q[ACT_BITS-1:0];
      assign act_wr_data[g*ACT_BITS +: ACT_BITS] = qc;
      always @(posedge clk) begin
        if (busy) begin
          case (phase)
            P_MAX: if (~|f || x > mx) mx <= x;
            P_SUM: begin
              sum <= (~|f ? {SW{1'b0}} : sum) + {{(SW-EXP_E_BITS){1'b0}}, e};
              if (pass_end) begin
                rem <= REM0;
                recip <= {QW{1'b0}};
              end
            end
            P_DIV: begin
              rem <= take ? rem2 - {{(RW-SW){1'b0}}, sum} : rem2;
              recip <= {recip[QW-2:0], take};
            end
            default: ;
          endcase
        end
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      phase <= P_MAX;
      f <= {F_FEATURES_W{1'b0}};
      t0 <= {F_TOKENS_W{1'b0}};
      r_in <= f_in_addr;
      r_out <= f_out_addr;
      r_tokens <= f_tokens;
      r_features <= f_features;
      r_in_plane <= f_in_plane;
      r_out_plane <= f_out_plane;
      r_in_mult <= f_in_mult;
      r_in_shift <= f_in_shift;
      rptr <= f_in_addr;
      wptr <= f_out_addr;
    end else if (busy) begin
      f <= pass_end ? {F_FEATURES_W{1'b0}} : f + 1'b1;
      if (phase != P_DIV)
        rptr <= pass_end ? r_in + {{(F_IN_ADDR_W-F_TOKENS_W){1'b0}}, t0}
                         : rptr + {{(F_IN_ADDR_W-F_IN_PLANE_W){1'b0}}, r_in_plane};
      if (phase == P_OUT)
        wptr <= wptr + {{(F_OUT_ADDR_W-F_OUT_PLANE_W){1'b0}}, r_out_plane};
      if (pass_end) begin
        phase <= phase + 1'b1;  // P_OUT wraps to P_MAX of the next tile
        if (phase == P_OUT) begin
          if (last_tile) busy <= 1'b0;
          t0 <= t0 + PIXELS[F_TOKENS_W-1:0];
          rptr <= r_in + {{(F_IN_ADDR_W-F_TOKENS_W){1'b0}}, t0} + PIXELS[F_IN_ADDR_W-1:0];
          wptr <= r_out + {{(F_OUT_ADDR_W-F_TOKENS_W){1'b0}}, t0} + PIXELS[F_OUT_ADDR_W-1:0];
        end
      end
    end
  end
endmodule

// LAYERNORM: per tile of PIXELS tokens, `features` cycles summing x and x^2, one cycle
// forming the radicand ((F*s2 - s1^2) << 2*LN_ROOT_FRAC) + eps, LN_SQRT_STEPS cycles of
// digit-by-digit square root (adders only), LN_RECIP_STEPS cycles of restoring division
// inv = floor(2^LN_RECIP_BITS / max(r, 2^LN_ROOT_FRAC)), `features` cycles writing
// sat8(round_shift(n * gamma + beta, shift)) with n = round_shift((F*x - s1) * inv,
// LN_RECIP_BITS - LN_ROOT_FRAC - LN_FRAC_BITS) and feature f's record (REQ layout: int32
// beta, int16 gamma, shift byte) read from the param SRAM the cycle before. A record whose shift
// exceeds SHIFT_MAX raises `err` in the cycle that reads it (the top level stops).
// Widths: F < 2^LN_FEATURES_BITS (the 12-bit field, zero-extended by the decoder), so
// |s1| < 2^19, s2 < 2^26, F*s2 and s1^2 < 2^38 (s1^2 as two partial products of |s1|);
// the radicand (< 2^62 + 2^48), the root's operand and trial stay WIDE_BITS; the root is
// below 2^32 (radicand < 2^63), so the divisor and the remainder are 32 bits and inv below
// 2^37; |F*x - s1| < 2^20, times inv in three partial products (16-bit slices of inv) is
// below 2^56, |n| < 2^34, and n * gamma is two partial products (n[31:0] and n >> 32).
module seedcc_layernorm #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_in_addr,
  f_out_addr,
  f_tokens,
  f_features,
  f_in_plane,
  f_out_plane,
  f_param_addr,
  f_eps,
  last,
  err,
  act_rd_addr,
  act_rd_data,
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
  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start;
  input  wire [F_IN_ADDR_W-1:0]        f_in_addr;
  input  wire [F_OUT_ADDR_W-1:0]       f_out_addr;
  input  wire [F_TOKENS_W-1:0]         f_tokens;
  input  wire [F_FEATURES_W-1:0]       f_features;
  input  wire [F_IN_PLANE_W-1:0]       f_in_plane;
  input  wire [F_OUT_PLANE_W-1:0]      f_out_plane;
  input  wire [F_PARAM_ADDR_W-1:0]     f_param_addr;
  input  wire [F_EPS_W-1:0]            f_eps;
  output wire                          last;
  output wire                          err;
  output wire [F_IN_ADDR_W-1:0]        act_rd_addr;   // PIXELS consecutive bytes
  input  wire [PIXELS*ACT_BITS-1:0]    act_rd_data;
  output wire                          param_rd;      // read one record here;
  output wire [F_PARAM_ADDR_W-1:0]     param_rd_addr;
  input  wire [REQ_RECORD_BYTES*8-1:0] param_rd_data; // the record read in the last cycle
  output wire                          act_wr;
  output wire [F_OUT_ADDR_W-1:0]       act_wr_addr;
  output reg  [PIXELS-1:0]             act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]    act_wr_data;

  localparam integer XW = 32;
  localparam [2:0] P_SUM = 3'd0, P_RAD = 3'd1, P_SQRT = 3'd2, P_DIV = 3'd3, P_OUT = 3'd4;
  localparam integer FW = LN_FEATURES_BITS + 1;         // F as a signed operand: 0 < F < 2^12
  localparam integer S1W = LN_FEATURES_BITS + ACT_BITS; // |s1| <= F * 128 < 2^19
  localparam integer S2W = LN_FEATURES_BITS + 2 * ACT_BITS - 2;  // s2 <= F * 128^2 < 2^26
  localparam integer DW = 2 * S1W - 1;                  // F*s2 - s1^2: both terms < 2^38
  localparam integer VW = LN_SQRT_STEPS;                // the root < 2^32: divisor, remainder
  localparam integer IW = LN_RECIP_STEPS;               // inv <= 2^(LN_RECIP_BITS - LN_ROOT_FRAC)
  localparam integer AW = S1W + 1;                      // |F*x - s1| <= 2 * F * 128 < 2^20
  localparam integer PW = AW + IW;                      // |F*x - s1| * inv < 2^56
  localparam integer LO = MULT_BITS;                    // partial-product slice
  localparam integer NLO = 2 * MULT_BITS;               // n = n_hi * 2^32 + n[31:0]
  localparam signed [WIDE_BITS-1:0] ONE = 1;
  localparam signed [WIDE_BITS-1:0] SQ0 = ONE <<< (2 * LN_SQRT_STEPS - 2);  // 4^(steps-1)
  localparam [VW-1:0] REM0 = {{(VW-1){1'b0}}, 1'b1} << (LN_RECIP_BITS - LN_RECIP_STEPS);
  localparam [VW-1:0] DMIN = {{(VW-1){1'b0}}, 1'b1} << LN_ROOT_FRAC;
  localparam integer N_SHIFT_I = LN_RECIP_BITS - LN_ROOT_FRAC - LN_FRAC_BITS;
  localparam [SHIFT_BITS-1:0] N_SHIFT = N_SHIFT_I[SHIFT_BITS-1:0];
  localparam [F_PARAM_ADDR_W-1:0] RECORD = REQ_RECORD_BYTES[F_PARAM_ADDR_W-1:0];
  localparam [REQ_SHIFT_W-1:0] SHIFT_LIMIT = SHIFT_MAX[REQ_SHIFT_W-1:0];
  reg                       busy;
  reg [2:0]                 phase;
  reg [F_FEATURES_W-1:0]    f;        // feature (or iteration step)
  reg [F_TOKENS_W-1:0]      t0;
  reg [F_IN_ADDR_W-1:0]     r_in;
  reg [F_OUT_ADDR_W-1:0]    r_out;
  reg [F_TOKENS_W-1:0]      r_tokens;
  reg [F_FEATURES_W-1:0]    r_features;
  reg [F_IN_PLANE_W-1:0]    r_in_plane;
  reg [F_OUT_PLANE_W-1:0]   r_out_plane;
  reg [F_PARAM_ADDR_W-1:0]  r_param;
  reg [F_EPS_W-1:0]         r_eps;
  reg [F_IN_ADDR_W-1:0]     rptr;
  reg [F_OUT_ADDR_W-1:0]    wptr;
  reg [F_PARAM_ADDR_W-1:0]  pptr;
  reg signed [WIDE_BITS-1:0] sq_one;  // the digit-by-digit square root's power of four

  wire [XW-1:0] fx = {{(XW-F_FEATURES_W){1'b0}}, f};
  wire [XW-1:0] fcount = {{(XW-F_FEATURES_W){1'b0}}, r_features};
  wire pass_end = (phase == P_SUM || phase == P_OUT) ? (fx + 1 >= fcount)
                : (phase == P_SQRT) ? (fx + 1 >= LN_SQRT_STEPS)
                : (phase == P_DIV) ? (fx + 1 >= LN_RECIP_STEPS) : 1'b1;
  wire last_tile = ({{(XW-F_TOKENS_W){1'b0}}, t0} + PIXELS) >= {{(XW-F_TOKENS_W){1'b0}}, r_tokens};
  wire [REQ_SHIFT_W-1:0] rec_shift = param_rd_data[REQ_SHIFT_LO +: REQ_SHIFT_W];
  assign err = busy && phase == P_OUT && (rec_shift > SHIFT_LIMIT);
  assign last = busy && phase == P_OUT && pass_end && last_tile;
  assign act_rd_addr = rptr;
  // registered read: feature f's record is read in the cycle before output cycle f (the
  // last divider cycle for f = 0)
  assign param_rd = busy && ((phase == P_DIV && pass_end) || (phase == P_OUT && !pass_end));
  assign param_rd_addr = (phase == P_OUT) ? pptr + RECORD : r_param;
  assign act_wr = busy && phase == P_OUT && !err;
  assign act_wr_addr = wptr;
  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_TOKENS_W){1'b0}}, t0} + p) < {{(XW-F_TOKENS_W){1'b0}}, r_tokens};

  wire signed [FW-1:0] fw = {1'b0, r_features[LN_FEATURES_BITS-1:0]};  // the field's 12 bits
  wire signed [WIDE_BITS-1:0] epsw = {{(WIDE_BITS-F_EPS_W){1'b0}}, r_eps};
  wire signed [WIDE_BITS-1:0] beta = {{(WIDE_BITS-REQ_BIAS_W){param_rd_data[REQ_BIAS_LO+REQ_BIAS_W-1]}},
                                      param_rd_data[REQ_BIAS_LO +: REQ_BIAS_W]};
  wire signed [WIDE_BITS-1:0] gamma = {{(WIDE_BITS-REQ_MULT_W){param_rd_data[REQ_MULT_LO+REQ_MULT_W-1]}},
                                       param_rd_data[REQ_MULT_LO +: REQ_MULT_W]};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [ACT_BITS-1:0] x = act_rd_data[g*ACT_BITS +: ACT_BITS];
      reg signed [S1W-1:0] s1;
      reg signed [S2W:0] s2;                    // signed: s2 + x*x, the square signed 16 bits
      reg signed [WIDE_BITS-1:0] op, res;       // radicand < 2^63; res, trial < 2^63 (i-th step:
                                                // res = R_i * 4^(32-i), R_i the root's top i bits)
      reg [VW-1:0] rem;                         // < the divisor < 2^32
      reg [IW-1:0] inv;                         // LN_RECIP_STEPS quotient bits
      // sums
      wire signed [2*ACT_BITS-1:0] xx = x * x;  // 8 x 8 bits
      // radicand: F*s2 (13 x 27 bits) - s1^2, |s1|^2 = |s1| * |s1|[15:0] + |s1| * |s1|[19:16]
      // * 2^16 (two partial products, 20 x 16 and 20 x 4 bits)
      wire [S1W-1:0] a1 = s1[S1W-1] ? -s1 : s1;
      wire [DW-2:0] s1sq = a1 * a1[LO-1:0] + ((a1 * a1[S1W-1:LO]) << LO);  // < 2^38
      wire signed [DW-1:0] dd = fw * s2 - $signed({1'b0, s1sq[DW-2:0]});
      // square root step: op -= res + one when it fits
      wire signed [WIDE_BITS-1:0] trial = res + sq_one;
      wire fits = op >= trial;
      // divider step against max(res, 2^LN_ROOT_FRAC); after the root, res < 2^32
      wire [VW-1:0] root = res[VW-1:0];
      wire [VW-1:0] dvs = (root < DMIN) ? DMIN : root;
      wire [VW:0] rem2 = {rem, 1'b0};
      wire take = rem2 >= {1'b0, dvs};
      // output: n = round_shift((F*x - s1) * inv, N_SHIFT), the product as |F*x - s1| times
      // the 16-bit slices of inv (three partial products, 21 x 16, 21 x 16 and 21 x 5 bits)
      wire signed [AW-1:0] a = fw * x - s1;     // 13 x 8 bits
      wire [AW-1:0] am = a[AW-1] ? -a : a;
      wire [PW-1:0] pm = am * inv[LO-1:0] + ((am * inv[2*LO-1:LO]) << LO)
                       + ((am * inv[IW-1:2*LO]) << (2 * LO));
      wire signed [PW-1:0] prod = a[AW-1] ? -$signed(pm) : $signed(pm);
      wire signed [PW-1:0] n;                   // |n| < 2^34
      seedcc_round_shift #(.W(PW)) u_n (.v(prod), .shift(N_SHIFT), .out(n));
      // n * gamma + beta (< 2^50) with n * gamma as n[31:0] * gamma (33 x 16 bits, the
      // requantiser's) plus (n >> 32) * gamma * 2^32 (26 x 16 bits)
      wire signed [WIDE_BITS-1:0] n_lo = {{(WIDE_BITS-NLO){1'b0}}, n[NLO-1:0]};
      wire signed [WIDE_BITS-1:0] n_hi = {{(WIDE_BITS-PW+NLO){n[PW-1]}}, n[PW-1:NLO]};
      seedcc_round_sat u_out (.v(((n_hi * gamma) <<< NLO) + n_lo * gamma + beta),
                              .shift(rec_shift[SHIFT_BITS-1:0]), .relu(1'b0), .uns(1'b0),
                              .out(act_wr_data[g*ACT_BITS +: ACT_BITS]));
      always @(posedge clk) begin
        if (busy) begin
          case (phase)
            P_SUM: begin
              s1 <= (~|f ? {S1W{1'b0}} : s1) + {{(S1W-ACT_BITS){x[ACT_BITS-1]}}, x};
              s2 <= (~|f ? {(S2W+1){1'b0}} : s2) + {{(S2W+1-2*ACT_BITS){xx[2*ACT_BITS-1]}}, xx};
            end
            P_RAD: begin
              op <= ({{(WIDE_BITS-DW){dd[DW-1]}}, dd} <<< (2 * LN_ROOT_FRAC)) + epsw;
              res <= {WIDE_BITS{1'b0}};
            end
            P_SQRT: begin
              if (fits) begin
                op <= op - trial;
                res <= (res >>> 1) + sq_one;
              end else begin
                res <= res >>> 1;
              end
              if (pass_end) begin
                rem <= REM0;
                inv <= {IW{1'b0}};
              end
            end
            P_DIV: begin
              rem <= take ? rem2[VW-1:0] - dvs : rem2[VW-1:0];  // rem2 < 2 * dvs
              inv <= {inv[IW-2:0], take};
            end
            default: ;
          endcase
        end
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      phase <= P_SUM;
      f <= {F_FEATURES_W{1'b0}};
      t0 <= {F_TOKENS_W{1'b0}};
      r_in <= f_in_addr;
      r_out <= f_out_addr;
      r_tokens <= f_tokens;
      r_features <= f_features;
      r_in_plane <= f_in_plane;
      r_out_plane <= f_out_plane;
      r_param <= f_param_addr;
      r_eps <= f_eps;
      rptr <= f_in_addr;
      wptr <= f_out_addr;
      pptr <= f_param_addr;
    end else if (busy) begin
      if (err) busy <= 1'b0;
      f <= pass_end ? {F_FEATURES_W{1'b0}} : f + 1'b1;
      if (phase == P_SUM || phase == P_OUT)
        rptr <= pass_end ? r_in + {{(F_IN_ADDR_W-F_TOKENS_W){1'b0}}, t0}
                         : rptr + {{(F_IN_ADDR_W-F_IN_PLANE_W){1'b0}}, r_in_plane};
      if (phase == P_OUT) begin
        wptr <= wptr + {{(F_OUT_ADDR_W-F_OUT_PLANE_W){1'b0}}, r_out_plane};
        pptr <= pass_end ? r_param : pptr + RECORD;
      end
      if (phase == P_RAD) sq_one <= SQ0;
      if (phase == P_SQRT) sq_one <= sq_one >>> 2;
      if (pass_end) begin
        phase <= (phase == P_OUT) ? P_SUM : phase + 1'b1;
        if (phase == P_OUT) begin
          if (last_tile) busy <= 1'b0;
          t0 <= t0 + PIXELS[F_TOKENS_W-1:0];
          rptr <= r_in + {{(F_IN_ADDR_W-F_TOKENS_W){1'b0}}, t0} + PIXELS[F_IN_ADDR_W-1:0];
          wptr <= r_out + {{(F_OUT_ADDR_W-F_TOKENS_W){1'b0}}, t0} + PIXELS[F_OUT_ADDR_W-1:0];
        end
      end
    end
  end
endmodule

// GELU: PIXELS lanes a cycle, ceil(length / PIXELS) execute cycles:
// v = round_shift(x * in_mult, in_shift); d = GELU_B - min(|v|, GELU_B);
// erf = sgn(v) (2^GELU_ERF_BITS - round_shift(GELU_A * d^2, GELU_A_SHIFT));
// out = sat8(round_shift(x * (2^GELU_ERF_BITS + erf) * out_mult, out_shift)).
// Widths: |x * in_mult| < 2^23, d <= GELU_B < 2^11, GELU_A * d^2 < 2^36, |erf| <= 2^14,
// 0 <= 2^14 + erf <= 2^15, |x * (2^14 + erf)| <= 2^22, times out_mult below 2^38 in magnitude.
module seedcc_gelu #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_in_addr,
  f_out_addr,
  f_length,
  f_in_mult,
  f_in_shift,
  f_out_mult,
  f_out_shift,
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
  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start;
  input  wire [F_IN_ADDR_W-1:0]        f_in_addr;
  input  wire [F_OUT_ADDR_W-1:0]       f_out_addr;
  input  wire [F_LENGTH_W-1:0]         f_length;
  input  wire [F_IN_MULT_W-1:0]        f_in_mult;
  input  wire [F_IN_SHIFT_W-1:0]       f_in_shift;
  input  wire signed [F_OUT_MULT_W-1:0] f_out_mult;
  input  wire [F_OUT_SHIFT_W-1:0]      f_out_shift;
  output wire                          last;
  output wire [F_IN_ADDR_W-1:0]        act_rd_addr;
  input  wire [PIXELS*ACT_BITS-1:0]    act_rd_data;
  output wire                          act_wr;
  output wire [F_OUT_ADDR_W-1:0]       act_wr_addr;
  output reg  [PIXELS-1:0]             act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]    act_wr_data;

  localparam integer XW = 32;
  localparam integer VW = ACT_BITS + F_IN_MULT_W;             // |x * in_mult| <= 128 (2^16 - 1)
  localparam integer DW = $clog2(GELU_B + 1);                 // d in [0, GELU_B]
  localparam integer GAW = $clog2(GELU_A + 1);                // GELU_A < 2^15
  localparam integer AW = GAW + 2 * DW;                       // GELU_A * d^2
  localparam integer EW = GELU_ERF_BITS + 2;                  // erf in [-2^14, 2^14]
  localparam integer GW = GELU_ERF_BITS + 3;                  // 2^14 + erf in [0, 2^15]
  localparam integer XGW = ACT_BITS + GELU_ERF_BITS + 1;      // x * (2^14 + erf) in [-2^22, 2^22)
  localparam integer TW = XGW + MULT_BITS;                    // times out_mult
  localparam signed [VW-1:0] GB = GELU_B[VW-1:0];
  localparam [DW-1:0] GBD = GELU_B[DW-1:0];
  localparam [GAW-1:0] GA = GELU_A[GAW-1:0];
  localparam [AW:0] A_HALF = {{AW{1'b0}}, 1'b1} << (GELU_A_SHIFT - 1);
  localparam signed [EW-1:0] ONE_ERF = 1 << GELU_ERF_BITS;
  reg                          busy;
  reg [F_LENGTH_W-1:0]         e0;
  reg [F_IN_ADDR_W-1:0]        r_in;
  reg [F_OUT_ADDR_W-1:0]       r_out;
  reg [F_LENGTH_W-1:0]         r_len;
  reg [F_IN_MULT_W-1:0]        r_in_mult;
  reg [F_IN_SHIFT_W-1:0]       r_in_shift;
  reg signed [MULT_BITS-1:0]   r_out_mult;
  reg [F_OUT_SHIFT_W-1:0]      r_out_shift;

  assign last = busy && ({{(XW-F_LENGTH_W){1'b0}}, e0} + PIXELS >= {{(XW-F_LENGTH_W){1'b0}}, r_len});
  assign act_rd_addr = r_in + e0;
  assign act_wr = busy;
  assign act_wr_addr = r_out + e0;
  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_LENGTH_W){1'b0}}, e0} + p) < {{(XW-F_LENGTH_W){1'b0}}, r_len};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [ACT_BITS-1:0] x = act_rd_data[g*ACT_BITS +: ACT_BITS];
      wire signed [VW-1:0] xm = x * $signed({1'b0, r_in_mult});      // 8 x 17 bits
      wire signed [VW-1:0] v;                                        // |v| <= |xm| < 2^23
      seedcc_round_shift #(.W(VW)) u_v (.v(xm), .shift(r_in_shift), .out(v));
      wire signed [VW-1:0] av = (v < 0) ? -v : v;
      wire [DW-1:0] d = (av > GB) ? {DW{1'b0}} : GBD - av[DW-1:0];  // GELU_B - min(|v|, GELU_B)
      wire [2*DW-1:0] d2 = d * d;                                    // 11 x 11 bits
      wire [AW-1:0] ad2 = GA * d2;                                   // 15 (constant) x 22 bits
      /* verilator lint_off UNUSEDSIGNAL */  // the bits below the shift, and zeros above 2^14
      wire [AW:0] ad2r = {1'b0, ad2} + A_HALF;
      /* verilator lint_on UNUSEDSIGNAL */
      // round_shift(GELU_A * d^2, GELU_A_SHIFT) <= 14800 < 2^14
      wire signed [EW-1:0] a2 = $signed({1'b0, ad2r[GELU_A_SHIFT+EW-2:GELU_A_SHIFT]});
      wire signed [EW-1:0] l = ONE_ERF - a2;
      wire signed [EW-1:0] erf = (v > 0) ? l : (v < 0) ? -l : {EW{1'b0}};
      wire signed [GW-1:0] ge = {erf[EW-1], erf} + ONE_ERF;        // 2^14 + erf
      wire signed [XGW-1:0] xg = x * ge;                             // 8 x 17 bits
      wire signed [TW-1:0] t = xg * r_out_mult;                      // 23 x 16 bits
      seedcc_round_sat u_out (.v({{(WIDE_BITS-TW){t[TW-1]}}, t}), .shift(r_out_shift), .relu(1'b0), .uns(1'b0),
                              .out(act_wr_data[g*ACT_BITS +: ACT_BITS]));
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      e0 <= {F_LENGTH_W{1'b0}};
      r_in <= f_in_addr;
      r_out <= f_out_addr;
      r_len <= f_length;
      r_in_mult <= f_in_mult;
      r_in_shift <= f_in_shift;
      r_out_mult <= f_out_mult;
      r_out_shift <= f_out_shift;
    end else if (busy) begin
      e0 <= e0 + PIXELS[F_LENGTH_W-1:0];
      if (last) busy <= 1'b0;
    end
  end
endmodule
/* verilator lint_on DECLFILENAME */
