console.log("no server here");
