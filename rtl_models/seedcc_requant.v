// Golden integer rules of rtl_models/numerics.py in hardware (all combinational).
//
// seedcc_round_sat: sat8(relu?(round_shift(v, shift))) on a 64-bit signed value, with
//   round_shift(v, s) = (v + 2^(s-1)) >>> s for s > 0 (round half up), v for s = 0.
//   64 bits hold every intermediate the ISA allows (|v| < 2^49, half <= 2^62).
// seedcc_requant: REQ, one lane: sat8(relu?(round_shift((acc + bias) * mult, shift))).
module seedcc_round_sat (
  input  wire signed [63:0] v,
  input  wire [5:0]         shift,
  input  wire               relu,
  output reg  signed [7:0]  out
);
  reg signed [63:0] half;
  reg signed [63:0] r;
  always @* begin
    half = (shift == 6'd0) ? 64'sd0 : (64'sd1 <<< (shift - 6'd1));
    r = (v + half) >>> shift;
    if (relu && r < 0) r = 64'sd0;
    if (r > 64'sd127) out = 8'sd127;
    else if (r < -64'sd128) out = -8'sd128;
    else out = r[7:0];
  end
endmodule

module seedcc_requant (
  input  wire signed [31:0] acc,
  input  wire signed [31:0] bias,
  input  wire signed [15:0] mult,
  input  wire [5:0]         shift,
  input  wire               relu,
  output wire signed [7:0]  out
);
  wire signed [63:0] sum = {{32{acc[31]}}, acc} + {{32{bias[31]}}, bias};
  wire signed [63:0] prod = sum * {{48{mult[15]}}, mult};
  seedcc_round_sat u_rs (.v(prod), .shift(shift), .relu(relu), .out(out));
endmodule
