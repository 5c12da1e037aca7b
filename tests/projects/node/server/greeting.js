exports.greeting = () => "hello from node:";
