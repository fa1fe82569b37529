// Golden integer rules of rtl_models/numerics.py in hardware (all combinational).
//
// seedcc_round_sat: sat(relu?(round_shift(v, shift))) on a WIDE_BITS signed value, with
//   round_shift(v, s) = (v + 2^(s-1)) >>> s for s > 0 (round half up), v for s = 0, and
//   sat clamping to the signed OUT_BITS range, or to the unsigned one when uns is 1: for
//   OUT_BITS = ACT_BITS (the default) ACT_MIN..ACT_MAX (int8) and 0..UACT_MAX (uint8).
//   WIDE_BITS (64) hold every intermediate the ISA allows (|v| < 2^49, half <= 2^(SHIFT_MAX-1)).
// seedcc_requant: REQ, one lane: sat(relu?(round_shift((acc + bias) * mult, shift))) to int32
//   (out_wide, the value of an int32 graph output) and from it to int8, or to uint8 when uns
//   is 1 (sat8 of sat32 is sat8: the 8-bit ranges lie inside int32).
// Widths are the hardware facts of hwfacts.vh (non-ANSI ports so that they can use them).

// The rounding helper lives with the requantiser that instantiates it (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
module seedcc_round_sat #(
  parameter integer OUT_BITS = 8   // ACT_BITS; ACC_BITS for an int32 result
) (
  v,
  shift,
  relu,
  uns,
  out
);
`include "hwfacts.vh"
  input  wire signed [WIDE_BITS-1:0] v;
  input  wire [SHIFT_BITS-1:0]       shift;
  input  wire                        relu;
  input  wire                        uns;    // 1: saturate to the unsigned range (uint8)
  output reg  signed [OUT_BITS-1:0]  out;

  localparam signed [WIDE_BITS-1:0] ONE = 1;
  localparam signed [WIDE_BITS-1:0] SAT_HI = (ONE <<< (OUT_BITS - 1)) - ONE;
  localparam signed [WIDE_BITS-1:0] SAT_LO = -(ONE <<< (OUT_BITS - 1));
  localparam signed [WIDE_BITS-1:0] USAT_HI = (ONE <<< OUT_BITS) - ONE;
  reg signed [WIDE_BITS-1:0] half;
  reg signed [WIDE_BITS-1:0] r;
  reg signed [WIDE_BITS-1:0] hi, lo;
  always @* begin
    half = ~|shift ? {WIDE_BITS{1'b0}} : (ONE <<< (shift - 1'b1));
    r = (v + half) >>> shift;
    if (relu && r < 0) r = {WIDE_BITS{1'b0}};
    hi = uns ? USAT_HI : SAT_HI;
    lo = uns ? {WIDE_BITS{1'b0}} : SAT_LO;
    if (r > hi) out = hi[OUT_BITS-1:0];
    else if (r < lo) out = lo[OUT_BITS-1:0];
    else out = r[OUT_BITS-1:0];
  end
endmodule
/* verilator lint_on DECLFILENAME */

module seedcc_requant (
  acc,
  bias,
  mult,
  shift,
  relu,
  uns,
  out,
  out_wide
);
`include "hwfacts.vh"
  input  wire signed [ACC_BITS-1:0]  acc;
  input  wire signed [ACC_BITS-1:0]  bias;
  input  wire signed [MULT_BITS-1:0] mult;
  input  wire [SHIFT_BITS-1:0]       shift;
  input  wire                        relu;
  input  wire                        uns;
  output wire signed [ACT_BITS-1:0]  out;       // int8, or uint8 when uns
  output wire signed [ACC_BITS-1:0]  out_wide;  // int32

  wire signed [WIDE_BITS-1:0] sum = {{(WIDE_BITS-ACC_BITS){acc[ACC_BITS-1]}}, acc}
                                  + {{(WIDE_BITS-ACC_BITS){bias[ACC_BITS-1]}}, bias};
  wire signed [WIDE_BITS-1:0] prod = sum * {{(WIDE_BITS-MULT_BITS){mult[MULT_BITS-1]}}, mult};
  seedcc_round_sat #(.OUT_BITS(ACC_BITS)) u_rs (.v(prod), .shift(shift), .relu(relu),
                                                .uns(1'b0), .out(out_wide));
  seedcc_round_sat #(.OUT_BITS(ACT_BITS)) u_sat8 (
    .v({{(WIDE_BITS-ACC_BITS){out_wide[ACC_BITS-1]}}, out_wide}), .shift({SHIFT_BITS{1'b0}}),
    .relu(1'b0), .uns(uns), .out(out));
endmodule
