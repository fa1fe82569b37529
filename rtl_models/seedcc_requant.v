// Golden integer rules of rtl_models/numerics.py in hardware (all combinational).
//
// seedcc_round_sat: sat8(relu?(round_shift(v, shift))) on a WIDE_BITS signed value, with
//   round_shift(v, s) = (v + 2^(s-1)) >>> s for s > 0 (round half up), v for s = 0, and
//   sat8 clamping to ACT_MIN..ACT_MAX (int8), or to 0..UACT_MAX when uns is 1 (uint8). WIDE_BITS (64) hold every intermediate the ISA
//   allows (|v| < 2^49, half <= 2^(SHIFT_MAX-1)).
// seedcc_requant: REQ, one lane: sat8(relu?(round_shift((acc + bias) * mult, shift))), to
//   uint8 when uns is 1.
// Widths are the hardware facts of hwfacts.vh (non-ANSI ports so that they can use them).

// The rounding helper lives with the requantiser that instantiates it (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
module seedcc_round_sat (
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
  input  wire                        uns;    // 1: saturate to uint8
  output reg  signed [ACT_BITS-1:0]  out;

  localparam signed [WIDE_BITS-1:0] ONE = 1;
  localparam signed [WIDE_BITS-1:0] SAT_HI = {{(WIDE_BITS-32){ACT_MAX[31]}}, ACT_MAX};
  localparam signed [WIDE_BITS-1:0] SAT_LO = {{(WIDE_BITS-32){ACT_MIN[31]}}, ACT_MIN};
  localparam signed [WIDE_BITS-1:0] USAT_HI = {{(WIDE_BITS-32){UACT_MAX[31]}}, UACT_MAX};
  reg signed [WIDE_BITS-1:0] half;
  reg signed [WIDE_BITS-1:0] r;
  reg signed [WIDE_BITS-1:0] hi, lo;
  always @* begin
    half = ~|shift ? {WIDE_BITS{1'b0}} : (ONE <<< (shift - 1'b1));
    r = (v + half) >>> shift;
    if (relu && r < 0) r = {WIDE_BITS{1'b0}};
    hi = uns ? USAT_HI : SAT_HI;
    lo = uns ? {WIDE_BITS{1'b0}} : SAT_LO;
    if (r > hi) out = hi[ACT_BITS-1:0];
    else if (r < lo) out = lo[ACT_BITS-1:0];
    else out = r[ACT_BITS-1:0];
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
  out
);
`include "hwfacts.vh"
  input  wire signed [ACC_BITS-1:0]  acc;
  input  wire signed [ACC_BITS-1:0]  bias;
  input  wire signed [MULT_BITS-1:0] mult;
  input  wire [SHIFT_BITS-1:0]       shift;
  input  wire                        relu;
  input  wire                        uns;
  output wire signed [ACT_BITS-1:0]  out;

  wire signed [WIDE_BITS-1:0] sum = {{(WIDE_BITS-ACC_BITS){acc[ACC_BITS-1]}}, acc}
                                  + {{(WIDE_BITS-ACC_BITS){bias[ACC_BITS-1]}}, bias};
  wire signed [WIDE_BITS-1:0] prod = sum * {{(WIDE_BITS-MULT_BITS){mult[MULT_BITS-1]}}, mult};
  seedcc_round_sat u_rs (.v(prod), .shift(shift), .relu(relu), .uns(uns), .out(out));
endmodule
