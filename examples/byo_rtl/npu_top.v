// "Your" accelerator for the bring-your-own-RTL example: a differently named top level
// with its own port names, active-high reset and its own memory with a host byte port.
// Inside it reuses seedcc's datapath (seedcc_accel), so seedcc's vectors must pass; a real
// design would put its own datapath here and keep only the adapter (npu_adapter.py).
module npu_top #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4,
  parameter integer ACT_BYTES = 65536,
  parameter integer MASK_BYTES = 32768,
  parameter integer PARAM_BYTES = 8192,
  parameter integer ACC_WORDS = 16384,
  parameter integer INSTR_WORDS = 1024,
  parameter integer BUS_BYTES = 8,
  parameter integer DMA_LATENCY = 4,
  parameter integer MEM_BYTES = 65536
) (
  input  wire         aclk,
  input  wire         areset,         // active high
  input  wire         ctrl_go,        // pulse: run from instruction 0
  output wire         stat_idle,      // high once halted
  output wire         stat_fault,     // illegal instruction
  output wire [63:0]  perf_cycles,
  input  wire         prog_wen,       // instruction load port
  input  wire [15:0]  prog_index,
  input  wire [255:0] prog_word,
  input  wire         host_mem_wen,   // host byte port of the memory
  input  wire [31:0]  host_mem_addr,
  input  wire [7:0]   host_mem_wdata,
  output wire [7:0]   host_mem_rdata
);
  wire                   rd_req, rd_valid, wr_req, busy;
  wire [31:0]            rd_addr, wr_addr, pc;
  wire [BUS_BYTES*8-1:0] rd_data, wr_data;
  wire [BUS_BYTES-1:0]   wr_be;

  seedcc_accel #(
    .LANES(LANES), .PIXELS(PIXELS), .ACT_BYTES(ACT_BYTES), .MASK_BYTES(MASK_BYTES),
    .PARAM_BYTES(PARAM_BYTES), .ACC_WORDS(ACC_WORDS), .INSTR_WORDS(INSTR_WORDS),
    .BUS_BYTES(BUS_BYTES), .DMA_LATENCY(DMA_LATENCY)
  ) core (
    .clk(aclk), .rst_n(~areset), .start(ctrl_go), .done(stat_idle), .err(stat_fault),
    .busy(busy), .cycles(perf_cycles), .pc(pc),
    .host_imem_we(prog_wen), .host_imem_addr({16'd0, prog_index}), .host_imem_wdata(prog_word),
    .dram_rd_req(rd_req), .dram_rd_addr(rd_addr), .dram_rd_valid(rd_valid), .dram_rd_data(rd_data),
    .dram_wr_req(wr_req), .dram_wr_addr(wr_addr), .dram_wr_data(wr_data), .dram_wr_be(wr_be)
  );

  npu_memory #(.BUS_BYTES(BUS_BYTES), .LATENCY(DMA_LATENCY), .BYTES(MEM_BYTES)) mem (
    .clk(aclk), .rd_req(rd_req), .rd_addr(rd_addr), .rd_valid(rd_valid), .rd_data(rd_data),
    .wr_req(wr_req), .wr_addr(wr_addr), .wr_data(wr_data), .wr_be(wr_be),
    .host_wen(host_mem_wen), .host_addr(host_mem_addr), .host_wdata(host_mem_wdata),
    .host_rdata(host_mem_rdata)
  );
endmodule

// Byte memory with the accelerator's fixed-latency bus (BUS_BYTES a beat, read data
// LATENCY cycles after the request) and a host port: one byte written per cycle, and a
// combinational read of host_addr.
module npu_memory #(
  parameter integer BUS_BYTES = 8,
  parameter integer LATENCY = 4,
  parameter integer BYTES = 65536
) (
  input  wire                   clk,
  input  wire                   rd_req,
  input  wire [31:0]            rd_addr,
  output wire                   rd_valid,
  output wire [BUS_BYTES*8-1:0] rd_data,
  input  wire                   wr_req,
  input  wire [31:0]            wr_addr,
  input  wire [BUS_BYTES*8-1:0] wr_data,
  input  wire [BUS_BYTES-1:0]   wr_be,
  input  wire                   host_wen,
  input  wire [31:0]            host_addr,
  input  wire [7:0]             host_wdata,
  output wire [7:0]             host_rdata
);
  reg [7:0] bytes [0:BYTES-1];
  reg [BUS_BYTES*8-1:0] data_pipe [0:LATENCY-1];
  reg [LATENCY-1:0]     valid_pipe;
  integer k;

  assign rd_valid = valid_pipe[LATENCY-1];
  assign rd_data = data_pipe[LATENCY-1];
  assign host_rdata = host_addr < BYTES ? bytes[host_addr] : 8'd0;

  always @(posedge clk) begin
    for (k = 0; k < BUS_BYTES; k = k + 1)
      data_pipe[0][k*8 +: 8] <= (rd_addr + k < BYTES) ? bytes[rd_addr + k] : 8'd0;
    valid_pipe[0] <= rd_req;
    for (k = 1; k < LATENCY; k = k + 1) begin
      data_pipe[k] <= data_pipe[k-1];
      valid_pipe[k] <= valid_pipe[k-1];
    end
    if (wr_req)
      for (k = 0; k < BUS_BYTES; k = k + 1)
        if (wr_be[k] && wr_addr + k < BYTES) bytes[wr_addr + k] <= wr_data[k*8 +: 8];
    if (host_wen && host_addr < BYTES) bytes[host_addr] <= host_wdata;
  end

  initial valid_pipe = {LATENCY{1'b0}};
endmodule
