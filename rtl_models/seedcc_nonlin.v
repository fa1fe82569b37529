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

// The attention block's nonlinear units and their helpers share this file (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
// round_shift(v, s) = (v + 2^(s-1)) >>> s (s > 0), v (s = 0), in WIDE_BITS.
module seedcc_round_shift (
  v,
  shift,
  out
);
`include "hwfacts.vh"
  input  wire signed [WIDE_BITS-1:0] v;
  input  wire [SHIFT_BITS-1:0]       shift;
  output wire signed [WIDE_BITS-1:0] out;
  localparam signed [WIDE_BITS-1:0] ONE = 1;
  wire signed [WIDE_BITS-1:0] half = ~|shift ? {WIDE_BITS{1'b0}} : (ONE <<< (shift - 1'b1));
  assign out = (v + half) >>> shift;
endmodule

// i-exp of d = x - mx: e = ((EXP_B - r)^2 + EXP_C) >> min(z, EXP_Z_MAX) with
// -round_shift(d * in_mult, in_shift) = z * 2^EXP_FRAC_BITS + r (numerics.iexp).
module seedcc_iexp (
  x,
  mx,
  in_mult,
  in_shift,
  e
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire signed [ACT_BITS-1:0]  x;
  input  wire signed [ACT_BITS-1:0]  mx;
  input  wire [F_IN_MULT_W-1:0]      in_mult;
  input  wire [F_IN_SHIFT_W-1:0]     in_shift;
  output wire signed [WIDE_BITS-1:0] e;
  localparam integer ZW = 6;  // shift amounts up to EXP_Z_MAX
  localparam signed [WIDE_BITS-1:0] B = {{(WIDE_BITS-32){1'b0}}, EXP_B};
  localparam signed [WIDE_BITS-1:0] C = {{(WIDE_BITS-32){1'b0}}, EXP_C};
  localparam signed [WIDE_BITS-1:0] ZMAX = {{(WIDE_BITS-32){1'b0}}, EXP_Z_MAX};
  localparam signed [WIDE_BITS-1:0] RMASK = (1 << EXP_FRAC_BITS) - 1;
  wire signed [WIDE_BITS-1:0] d = {{(WIDE_BITS-ACT_BITS){x[ACT_BITS-1]}}, x}
                                - {{(WIDE_BITS-ACT_BITS){mx[ACT_BITS-1]}}, mx};
  wire signed [WIDE_BITS-1:0] dm = d * $signed({{(WIDE_BITS-F_IN_MULT_W){1'b0}}, in_mult});
  wire signed [WIDE_BITS-1:0] t;
  seedcc_round_shift u_rs (.v(dm), .shift(in_shift), .out(t));
  wire signed [WIDE_BITS-1:0] nt = -t;
  wire signed [WIDE_BITS-1:0] z_full = nt >>> EXP_FRAC_BITS;
  wire [ZW-1:0] z = (z_full > ZMAX) ? ZMAX[ZW-1:0] : z_full[ZW-1:0];
  wire signed [WIDE_BITS-1:0] u = B - (nt & RMASK);
  assign e = (u * u + C) >>> z;
endmodule

// SOFTMAX: per tile of PIXELS tokens, `features` cycles of running max, `features` cycles
// of exp-sum, SM_RECIP_STEPS cycles of restoring division recip = floor(2^SM_RECIP_BITS /
// sum) (the remainder starts at 2^(SM_RECIP_BITS - SM_RECIP_STEPS) < sum), `features`
// cycles writing min(SM_OUT_MAX, round_shift(e * recip, SM_RECIP_BITS - SM_OUT_BITS)).
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
  localparam signed [WIDE_BITS-1:0] ONE = 1;
  localparam signed [WIDE_BITS-1:0] REM0 = ONE <<< (SM_RECIP_BITS - SM_RECIP_STEPS);
  localparam signed [WIDE_BITS-1:0] OUT_MAX = {{(WIDE_BITS-32){1'b0}}, SM_OUT_MAX};
  localparam integer OUT_SHIFT_I = SM_RECIP_BITS - SM_OUT_BITS;
  localparam [SHIFT_BITS-1:0] OUT_SHIFT = OUT_SHIFT_I[SHIFT_BITS-1:0];
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
      reg signed [WIDE_BITS-1:0] sum, rem, recip;
      wire signed [WIDE_BITS-1:0] e;
      seedcc_iexp u_exp (.x(x), .mx(mx), .in_mult(r_in_mult), .in_shift(r_in_shift), .e(e));
      wire signed [WIDE_BITS-1:0] rem2 = rem <<< 1;
      wire take = rem2 >= sum;
      wire signed [WIDE_BITS-1:0] q;
      seedcc_round_shift u_rs (.v(e * recip), .shift(OUT_SHIFT), .out(q));
      wire [ACT_BITS-1:0] qc = (q > OUT_MAX) ? OUT_MAX[ACT_BITS-1:0] : q[ACT_BITS-1:0];
      assign act_wr_data[g*ACT_BITS +: ACT_BITS] = qc;
      always @(posedge clk) begin
        if (busy) begin
          case (phase)
            P_MAX: if (~|f || x > mx) mx <= x;
            P_SUM: begin
              sum <= (~|f ? {WIDE_BITS{1'b0}} : sum) + e;
              if (pass_end) begin
                rem <= REM0;
                recip <= {WIDE_BITS{1'b0}};
              end
            end
            P_DIV: begin
              rem <= take ? rem2 - sum : rem2;
              recip <= {recip[WIDE_BITS-2:0], take};
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
  localparam signed [WIDE_BITS-1:0] ONE = 1;
  localparam signed [WIDE_BITS-1:0] SQ0 = ONE <<< (2 * LN_SQRT_STEPS - 2);  // 4^(steps-1)
  localparam signed [WIDE_BITS-1:0] REM0 = ONE <<< (LN_RECIP_BITS - LN_RECIP_STEPS);
  localparam signed [WIDE_BITS-1:0] DMIN = ONE <<< LN_ROOT_FRAC;
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

  wire signed [WIDE_BITS-1:0] fw = {{(WIDE_BITS-F_FEATURES_W){1'b0}}, r_features};
  wire signed [WIDE_BITS-1:0] epsw = {{(WIDE_BITS-F_EPS_W){1'b0}}, r_eps};
  wire signed [WIDE_BITS-1:0] beta = {{(WIDE_BITS-REQ_BIAS_W){param_rd_data[REQ_BIAS_LO+REQ_BIAS_W-1]}},
                                      param_rd_data[REQ_BIAS_LO +: REQ_BIAS_W]};
  wire signed [WIDE_BITS-1:0] gamma = {{(WIDE_BITS-REQ_MULT_W){param_rd_data[REQ_MULT_LO+REQ_MULT_W-1]}},
                                       param_rd_data[REQ_MULT_LO +: REQ_MULT_W]};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [ACT_BITS-1:0] x = act_rd_data[g*ACT_BITS +: ACT_BITS];
      wire signed [WIDE_BITS-1:0] xw = {{(WIDE_BITS-ACT_BITS){x[ACT_BITS-1]}}, x};
      reg signed [WIDE_BITS-1:0] s1, s2, op, res, rem, inv;
      // square root step: op -= res + one when it fits
      wire signed [WIDE_BITS-1:0] trial = res + sq_one;
      wire fits = op >= trial;
      // divider step against max(res, 2^LN_ROOT_FRAC)
      wire signed [WIDE_BITS-1:0] dvs = (res < DMIN) ? DMIN : res;
      wire signed [WIDE_BITS-1:0] rem2 = rem <<< 1;
      wire take = rem2 >= dvs;
      // output
      wire signed [WIDE_BITS-1:0] n;
      seedcc_round_shift u_n (.v((fw * xw - s1) * inv), .shift(N_SHIFT), .out(n));
      seedcc_round_sat u_out (.v(n * gamma + beta), .shift(rec_shift[SHIFT_BITS-1:0]), .relu(1'b0), .uns(1'b0),
                              .out(act_wr_data[g*ACT_BITS +: ACT_BITS]));
      always @(posedge clk) begin
        if (busy) begin
          case (phase)
            P_SUM: begin
              s1 <= (~|f ? {WIDE_BITS{1'b0}} : s1) + xw;
              s2 <= (~|f ? {WIDE_BITS{1'b0}} : s2) + xw * xw;
            end
            P_RAD: begin
              op <= ((fw * s2 - s1 * s1) <<< (2 * LN_ROOT_FRAC)) + epsw;
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
                inv <= {WIDE_BITS{1'b0}};
              end
            end
            P_DIV: begin
              rem <= take ? rem2 - dvs : rem2;
              inv <= {inv[WIDE_BITS-2:0], take};
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
  localparam signed [WIDE_BITS-1:0] GB = {{(WIDE_BITS-32){1'b0}}, GELU_B};
  localparam signed [WIDE_BITS-1:0] GA = {{(WIDE_BITS-32){1'b0}}, GELU_A};
  localparam signed [WIDE_BITS-1:0] ONE_ERF = 1 << GELU_ERF_BITS;
  localparam [SHIFT_BITS-1:0] A_SHIFT = GELU_A_SHIFT[SHIFT_BITS-1:0];
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

  wire signed [WIDE_BITS-1:0] om = {{(WIDE_BITS-MULT_BITS){r_out_mult[MULT_BITS-1]}}, r_out_mult};
  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [ACT_BITS-1:0] x = act_rd_data[g*ACT_BITS +: ACT_BITS];
      wire signed [WIDE_BITS-1:0] xw = {{(WIDE_BITS-ACT_BITS){x[ACT_BITS-1]}}, x};
      wire signed [WIDE_BITS-1:0] v, a2;
      seedcc_round_shift u_v (.v(xw * $signed({{(WIDE_BITS-F_IN_MULT_W){1'b0}}, r_in_mult})),
                              .shift(r_in_shift), .out(v));
      wire signed [WIDE_BITS-1:0] av = (v < 0) ? -v : v;
      wire signed [WIDE_BITS-1:0] d = GB - ((av > GB) ? GB : av);
      seedcc_round_shift u_a (.v(GA * d * d), .shift(A_SHIFT), .out(a2));
      wire signed [WIDE_BITS-1:0] l = ONE_ERF - a2;
      wire signed [WIDE_BITS-1:0] erf = (v > 0) ? l : (v < 0) ? -l : {WIDE_BITS{1'b0}};
      seedcc_round_sat u_out (.v(xw * (ONE_ERF + erf) * om), .shift(r_out_shift), .relu(1'b0), .uns(1'b0),
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
