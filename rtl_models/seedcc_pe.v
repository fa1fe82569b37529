// Processing elements of the output-stationary MAC array.
//
// seedcc_pe: one int32 accumulator. Each enabled cycle it adds sign * code * x, where
// sign is a generator (or stored) bit (1 -> +, 0 -> -), code the mask code (0 skips) and x
// an int8 activation. There is no multiplier: code * x is a shift-add over the code's
// bits (a binary mask, CODE_W = 1 in effect, is add / subtract / skip). The accumulator
// wraps modulo 2^32 like an int32.
//
// seedcc_pe_tile: the 16 output channels of one generator lane x PIXELS output pixels.
// Flat buses, PE (o, p) at index o*PIXELS + p.
module seedcc_pe #(
  parameter integer CODE_W = 7
) (
  input  wire                     clk,
  input  wire                     load,      // acc <= load_val (tile restart)
  input  wire signed [31:0]       load_val,
  input  wire                     en,        // acc <= acc + term
  input  wire                     sign,
  input  wire [CODE_W-1:0]        code,
  input  wire signed [7:0]        x,
  output reg  signed [31:0]       acc
);
  reg signed [31:0] prod;
  reg signed [31:0] term;
  integer b;
  always @* begin
    prod = 32'sd0;
    for (b = 0; b < CODE_W; b = b + 1)
      if (code[b]) prod = prod + ($signed({{24{x[7]}}, x}) <<< b);
    term = sign ? prod : -prod;
  end

  always @(posedge clk) begin
    if (load) acc <= load_val;
    else if (en) acc <= acc + term;
  end
endmodule

module seedcc_pe_tile #(
  parameter integer PIXELS = 4,
  parameter integer CODE_W = 7
) (
  input  wire                        clk,
  input  wire                        load,
  input  wire [16*PIXELS*32-1:0]     load_val,
  input  wire                        en,
  input  wire [15:0]                 signs,    // channel o: bit o
  input  wire [16*CODE_W-1:0]        codes,    // channel o: codes[o*CODE_W +: CODE_W]
  input  wire [PIXELS*8-1:0]         x,        // pixel p: x[p*8 +: 8] (broadcast to all channels)
  output wire [16*PIXELS*32-1:0]     acc
);
  genvar o, p;
  generate
    for (o = 0; o < 16; o = o + 1) begin : ch
      for (p = 0; p < PIXELS; p = p + 1) begin : px
        seedcc_pe #(.CODE_W(CODE_W)) u_pe (
          .clk(clk),
          .load(load),
          .load_val(load_val[(o*PIXELS+p)*32 +: 32]),
          .en(en),
          .sign(signs[o]),
          .code(codes[o*CODE_W +: CODE_W]),
          .x(x[p*8 +: 8]),
          .acc(acc[(o*PIXELS+p)*32 +: 32])
        );
      end
    end
  endgenerate
endmodule
