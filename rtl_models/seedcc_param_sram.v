// The param SRAM (docs/rtl.md "Memories"): PARAM_BYTES in NB = max(1, BUS_BYTES / 8) banks
// of seedcc_sram_dp macros with PARAM_WORD_BYTES-byte (64-bit) words and a write enable a
// byte. Word w (bytes 8w..8w+7) is row w / NB of bank w mod NB, so a bus beat from an
// 8-byte aligned address touches each bank at most once.
//   port A (read/write): the DMA engine, one BUS_BYTES beat a cycle at a byte address
//     a multiple of PARAM_WORD_BYTES plus a multiple of BUS_BYTES (a param-space transfer
//     starts on a word: the ISA's alignment rule); a read's beat is on `a_rdata` in the
//     next cycle.
//   port B (read): one word a cycle at a word-aligned byte address, on `b_rdata` in the
//     next cycle and held until the next port B read: the lane and freeze states of SETGEN
//     and SETFRZ, and the records of REQ and LAYERNORM. One reader at a time: a
//     background REQ runs beside SETGEN, SETFRZ and LAYERNORM never (they wait for it,
//     docs/isa.md "Background units").
// Addresses wrap at PARAM_BYTES (a power of two); the low address bits that alignment
// makes zero are not used.
module seedcc_param_sram #(
  parameter integer PARAM_BYTES = 8192,
  parameter integer BUS_BYTES = 8
) (
  clk,
  a_rd,
  a_wr,
  a_addr,
  a_be,
  a_wdata,
  a_rdata,
  b_en,
  b_addr,
  b_rdata
);
`include "isa.vh"
`include "hwfacts.vh"
  localparam integer WB = PARAM_WORD_BYTES;
  localparam integer NB = (BUS_BYTES > WB) ? BUS_BYTES / WB : 1;        // banks
  localparam integer BANK_W = (NB > 1) ? $clog2(NB) : 1;
  localparam integer WORDS = PARAM_BYTES / WB;                           // of all banks
  localparam integer WORD_W = $clog2(WORDS);
  localparam integer ROWS = WORDS / NB;                                  // of one bank
  localparam integer ROW_W = (ROWS > 1) ? $clog2(ROWS) : 1;
  localparam integer OFF_W = $clog2(WB);                                 // byte of a word
  localparam integer BEAT = (BUS_BYTES > WB) ? WB : BUS_BYTES;           // beat bytes in one word

  input  wire                     clk;
  input  wire                     a_rd;
  input  wire                     a_wr;
  // the bits above the word index wrap (addresses past PARAM_BYTES)
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [F_SRAM_ADDR_W-1:0] a_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [BUS_BYTES-1:0]     a_be;
  input  wire [BUS_BYTES*8-1:0]   a_wdata;
  output wire [BUS_BYTES*8-1:0]   a_rdata;
  input  wire                     b_en;
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [F_PARAM_ADDR_W-1:0] b_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  output wire [WB*8-1:0]          b_rdata;

  wire [WORD_W-1:0] a_word = a_addr[OFF_W +: WORD_W];
  wire [WORD_W-1:0] b_word = b_addr[OFF_W +: WORD_W];
  wire [NB*WB*8-1:0] a_rd_all, b_rd_all;
  genvar bk;
  generate
    if (NB == 1) begin : one
      // a beat is BUS_BYTES <= 8 bytes inside one word, from byte a_addr mod 8 on
      wire [OFF_W-1:0] off = a_addr[OFF_W-1:0];
      reg  [OFF_W-1:0] off_q;  // the byte offset of the beat read in the last cycle
      always @(posedge clk) if (a_rd) off_q <= off;
      wire [WB-1:0]   we = {{(WB-BEAT){1'b0}}, a_be} << off;
      wire [WB*8-1:0] wd = {{((WB-BEAT)*8){1'b0}}, a_wdata} << {off, 3'b000};
      // a beat narrower than the word leaves its upper bytes unused
      /* verilator lint_off UNUSEDSIGNAL */
      wire [WB*8-1:0] rd_shift = a_rd_all >> {off_q, 3'b000};
      /* verilator lint_on UNUSEDSIGNAL */
      assign a_rdata = rd_shift[BUS_BYTES*8-1:0];
      assign b_rdata = b_rd_all;
      seedcc_sram_dp #(.WORDS(ROWS), .LANES(WB), .WIDTH(8), .ADDR_W(ROW_W)) u_sram (
        .clk(clk),
        .a_en(a_rd | (a_wr & |we)), .a_we(a_wr ? we : {WB{1'b0}}), .a_addr(a_word[ROW_W-1:0]),
        .a_wdata(wd), .a_rdata(a_rd_all),
        .b_en(b_en), .b_addr(b_word[ROW_W-1:0]), .b_rdata(b_rd_all)
      );
    end else begin : banked
      // a beat is NB words from word a_word on: word a_word + i sits in bank
      // (a_word + i) mod NB, row (a_word + i) / NB
      wire [BANK_W-1:0] a_bank = a_word[BANK_W-1:0];
      reg  [BANK_W-1:0] a_bank_q, b_bank_q;  // the first bank of the last cycle's reads
      always @(posedge clk) begin
        if (a_rd) a_bank_q <= a_bank;
        if (b_en) b_bank_q <= b_word[BANK_W-1:0];
      end
      assign b_rdata = b_rd_all[b_bank_q*WB*8 +: WB*8];
      for (bk = 0; bk < NB; bk = bk + 1) begin : param_bank
        localparam [BANK_W-1:0] BK = bk;
        wire [BANK_W-1:0] i = BK - a_bank;     // this bank's word of the beat
        /* verilator lint_off UNUSEDSIGNAL */
        wire [WORD_W-1:0] w = a_word + {{(WORD_W-BANK_W){1'b0}}, i};
        /* verilator lint_on UNUSEDSIGNAL */
        wire [BANK_W-1:0] src = a_bank_q + BK;  // the bank of word bk of the beat read last
        wire [WB-1:0] we = a_be[i*WB +: WB];
        assign a_rdata[bk*WB*8 +: WB*8] = a_rd_all[src*WB*8 +: WB*8];
        seedcc_sram_dp #(.WORDS(ROWS), .LANES(WB), .WIDTH(8), .ADDR_W(ROW_W)) u_sram (
          .clk(clk),
          .a_en(a_rd | (a_wr & |we)), .a_we(a_wr ? we : {WB{1'b0}}),
          .a_addr(w[BANK_W +: ROW_W]), .a_wdata(a_wdata[i*WB*8 +: WB*8]),
          .a_rdata(a_rd_all[bk*WB*8 +: WB*8]),
          .b_en(b_en && b_word[BANK_W-1:0] == BK), .b_addr(b_word[BANK_W +: ROW_W]),
          .b_rdata(b_rd_all[bk*WB*8 +: WB*8])
        );
      end
    end
  endgenerate
endmodule
